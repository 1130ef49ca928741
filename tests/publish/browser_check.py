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
  const name = t => (t.querySelector('caption') || t).textContent.trim().slice(0, 40);
  const tables = [...document.querySelectorAll('table')];
  const scrolling = tables.filter(t => t.scrollWidth > t.clientWidth + 1).map(name);
  // a column is clipped when a table is wider than its box and the box does not scroll, or when a
  // cell's content is wider than the cell
  const clipped = [];
  for (const t of tables) {
    const ox = getComputedStyle(t).overflowX;
    if (t.scrollWidth > t.clientWidth + 1 && !['auto', 'scroll'].includes(ox)) clipped.push(name(t));
    for (const c of t.querySelectorAll('td, th')) {
      if (c.scrollWidth > c.clientWidth + 1) { clipped.push(name(t) + ' / ' + c.textContent.trim().slice(0, 20)); break; }
    }
  }
  const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, width: r.width, position: getComputedStyle(e).position}; };
  const para = [...document.querySelectorAll('body > p, main p')].find(p => p.textContent.length > 300);
  const report = {
    images: imgs.length, broken, links: document.querySelectorAll('a[href^="#"]').length, missing,
    overflow: overflow.slice(0, 20), scrolling_tables: scrolling, clipped_tables: clipped,
    page_scrolls_sideways: document.documentElement.scrollWidth > document.documentElement.clientWidth,
    toc: box(document.getElementById('TOC')), text: box(para),
    font_px: para ? parseFloat(getComputedStyle(para).fontSize) : null,
  };
  const pre = document.createElement('pre');
  pre.id = 'browser-check';
  pre.textContent = JSON.stringify(report);
  document.body.appendChild(pre);
  if (window.parent !== window) window.parent.postMessage(pre.textContent, '*');
});
</script>
"""

# Headless Chromium keeps its window at least 500 px wide: a narrower page is laid out in an iframe of
# that width (its own viewport: media queries, fixed positions and scrolling as on a phone)
MIN_WINDOW = 500
FRAME = """<!DOCTYPE html><html><body style="margin:0;background:#fff">
<iframe src="{src}" style="display:block;border:0;width:{width}px;height:{height}px"></iframe>
<pre id="browser-check"></pre>
<script>addEventListener('message', e => {{ document.getElementById('browser-check').textContent = e.data; }});</script>
</body></html>
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


def _page(html: Path, tmp: Path, width: int, height: int, probe: bool) -> tuple[Path, int]:
    """The file to open (the page, or a frame holding it when ``width`` is below Chromium's minimum) and the window width."""
    text = html.read_text(encoding="utf-8")
    page = tmp / html.name
    page.write_text(text.replace("</body>", CHECK_JS + "</body>") if probe else text, encoding="utf-8")
    if width >= MIN_WINDOW:
        return page, width
    frame = tmp / f"frame-{html.name}"
    frame.write_text(FRAME.format(src=page.name, width=width, height=height), encoding="utf-8")
    return frame, MIN_WINDOW


def check(html: Path, width: int = 1280) -> dict:
    """The report of CHECK_JS for one page at one viewport width."""
    html = Path(html).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        page, window = _page(html, Path(tmp), width, 900, probe=True)
        dom = _run([f"--window-size={window},900", "--virtual-time-budget=15000", "--dump-dom", page.as_uri()])
    m = re.search(r'<pre id="browser-check">(.+?)</pre>', dom, flags=re.S)
    if not m:
        raise RuntimeError(f"Chromium returned no report for {html} at {width} px")
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


DESKTOP, PHONE = 1280, 400


def screenshots(html: Path, out: Path | None = None) -> list[Path]:
    """Screenshots (9,000 px tall) at desktop and phone widths, kept for review: desktop first, then phone."""
    from PIL import Image

    html = Path(html).resolve()
    out = Path(out) if out else html.parent / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for label, width, height in (("desktop", DESKTOP, 9000), ("phone", PHONE, 9000)):
        path = out / f"{html.stem}-{label}.png"
        path.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            page, window = _page(html, Path(tmp), width, height, probe=False)
            _run(
                [
                    f"--window-size={window},{height}",
                    "--virtual-time-budget=15000",
                    f"--screenshot={path}",
                    page.as_uri(),
                ]
            )
        if path.is_file():
            if window != width:  # the frame's width only
                Image.open(path).crop((0, 0, width, height)).save(path)
            written.append(path)
    return written


def main(paths: list[str]) -> int:
    if not chromium():
        print("chromium is not on PATH (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    bad = 0
    for p in paths:
        for width in (DESKTOP, PHONE):
            report = check(Path(p), width)
            print(p, width, json.dumps(report))
            bad += bool(
                report["broken"]
                or report["missing"]
                or report["overflow"]
                or report["page_scrolls_sideways"]
                or report["clipped_tables"]
            )
        for s in screenshots(Path(p)):
            print(f"wrote {s}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["manuscript/_manuscript/index.html", "manuscript/_manuscript/supplement.html"]))
