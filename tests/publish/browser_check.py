"""Open the rendered HTML in headless Chromium: do figures load, do cross-references link, does anything overflow?

    python tests/publish/browser_check.py manuscript/_manuscript/index.html [...]

prints one JSON report per page and keeps screenshots (desktop and phone width) next to the HTML in
``screenshots/``.  Needs Debian's ``chromium`` (or ``chromium-browser``/``google-chrome``) on PATH.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHECK_JS = r"""
<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => (i.alt || i.src).slice(0, 60));
  const missing = [...document.querySelectorAll('a[href^="#"]')]
    .map(a => decodeURIComponent(a.getAttribute('href').slice(1)))
    .filter(id => id && !document.getElementById(id));
  const b = document.body.getBoundingClientRect();
  const right = b.right - parseFloat(getComputedStyle(document.body).paddingRight) + 1;
  const overflow = [];
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > right && !e.closest('table')) overflow.push(e.tagName + (e.id ? '#' + e.id : ''));
  }
  const scrolling = [...document.querySelectorAll('table')]
    .filter(t => t.scrollWidth > t.clientWidth + 1)
    .map(t => (t.querySelector('caption') || t).textContent.trim().slice(0, 40));
  const report = {
    images: imgs.length, broken, links: document.querySelectorAll('a[href^="#"]').length, missing,
    overflow: overflow.slice(0, 20), scrolling_tables: scrolling,
    page_scrolls_sideways: document.documentElement.scrollWidth > document.documentElement.clientWidth,
  };
  const pre = document.createElement('pre');
  pre.id = 'browser-check';
  pre.textContent = JSON.stringify(report);
  document.body.appendChild(pre);
});
</script>
"""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def _run(args: list[str], timeout: int = 120) -> str:
    base = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-dev-shm-usage"]
    proc = subprocess.run([*base, *args], capture_output=True, text=True, timeout=timeout)
    return proc.stdout


def check(html: Path, width: int = 1100) -> dict:
    """The report of CHECK_JS for one page at one window width."""
    html = Path(html).resolve()
    text = html.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / html.name
        probe.write_text(text.replace("</body>", CHECK_JS + "</body>"), encoding="utf-8")
        dom = _run([f"--window-size={width},900", "--virtual-time-budget=15000", "--dump-dom", probe.as_uri()])
    m = re.search(r'<pre id="browser-check">(.*?)</pre>', dom, flags=re.S)
    if not m:
        raise RuntimeError(f"Chromium returned no report for {html}")
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


def screenshots(html: Path) -> list[Path]:
    """Full-height screenshots at desktop and phone widths, kept for review."""
    html = Path(html).resolve()
    out = html.parent / "screenshots"
    out.mkdir(exist_ok=True)
    written = []
    for label, width, height in (("desktop", 1100, 9000), ("phone", 400, 9000)):
        path = out / f"{html.stem}-{label}.png"
        _run([f"--window-size={width},{height}", "--virtual-time-budget=15000", f"--screenshot={path}", html.as_uri()])
        if path.is_file():
            written.append(path)
    return written


def main(paths: list[str]) -> int:
    if not chromium():
        print("chromium is not on PATH (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    bad = 0
    for p in paths:
        for width in (1100, 400):
            report = check(Path(p), width)
            print(p, width, json.dumps(report))
            bad += bool(report["broken"] or report["missing"] or report["overflow"] or report["page_scrolls_sideways"])
        for s in screenshots(Path(p)):
            print(f"wrote {s}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["manuscript/_manuscript/index.html", "manuscript/_manuscript/supplement.html"]))
