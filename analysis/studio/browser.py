"""Drive the studio in a real headless Chromium (Selenium, Debian's ``chromium`` and ``chromium-driver``): for the
browser tests (``tests/studio``) and the speed benchmark (:mod:`tools.bench_studio`).

Selenium is a development dependency (``pip install .[dev]``); this module imports it only when called.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from analysis.settings import ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


def available() -> str:
    """Why a browser cannot run here ('' when it can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install .[dev])"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).is_file() or shutil.which(path)):
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return ""


@contextmanager
def running_app(design: Path | None = None, timeout: float = 60.0):
    """``python -m analysis studio`` on a free port in a subprocess; yields its address, stops it after."""
    from analysis.studio.serve import free_port

    port = free_port()
    cmd = [sys.executable, "-m", "analysis", "studio", "--port", str(port)]
    if design is not None:
        cmd += ["--design", str(design)]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    log = tempfile.TemporaryFile("w+")  # read only when the app fails to start (a pipe could fill up)
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
        start_new_session=True,  # its own process group: the figure process is stopped with it
    )
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"the studio exited with {proc.returncode}: {log.read()[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"the studio did not answer at {url} within {timeout:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def chrome(width: int = 1280, height: int = 900, downloads: Path | None = None):
    """A headless Chromium driver of the given viewport (CSS pixels), downloading into ``downloads``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.add_argument(f"--window-size={width},{height}")
    if downloads is not None:
        opts.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    viewport(driver, width, height)
    if downloads is not None:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    return driver


def viewport(driver, width: int, height: int) -> None:
    """Emulate a viewport of ``width`` x ``height`` CSS pixels (a phone at 400)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def wait(driver, condition, timeout: float = 60.0, what: str = "the page"):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # outputs are redrawn while we look (the progress bar several times a second): a stale element is retried
    ignored = (StaleElementReferenceException,)
    return WebDriverWait(driver, timeout, poll_frequency=0.05, ignored_exceptions=ignored).until(
        condition, f"waiting for {what}"
    )


def table_version(driver) -> int:
    """The OC table's update counter (``data-version``), -1 before the first table."""
    return int(driver.execute_script("var t = document.getElementById('oc'); return t ? t.dataset.version : -1;") or -1)


def wait_table(driver, above: int = 0, timeout: float = 60.0) -> int:
    """Wait until the OC table's counter exceeds ``above``; its new value."""
    wait(driver, lambda d: table_version(d) > above, timeout, f"the OC table after version {above}")
    return table_version(driver)


def cell(driver, key: str, column: str) -> str:
    """The full value (``data-value``) of one cell: row ``thresholds|scenario|method|indication``, a column."""
    return driver.execute_script(
        "var r = Array.from(document.querySelectorAll('#oc tbody tr')).find(x => x.dataset.key === arguments[0]);"
        "if (!r) return null; var c = r.querySelector('td[data-col=\"' + arguments[1] + '\"]');"
        "return c ? c.dataset.value : null;",
        key,
        column,
    )


def table_values(driver) -> dict:
    """Every cell of the OC table: {(row key, column): full value}."""
    rows = driver.execute_script(
        "return Array.from(document.querySelectorAll('#oc tbody tr')).map(r => [r.dataset.key,"
        " Array.from(r.querySelectorAll('td')).map(c => [c.dataset.col, c.dataset.value])]);"
    )
    return {(key, col): val for key, cells in rows for col, val in cells}


def type_into(driver, field: str, text: str) -> None:
    """Replace a text field's content by typing, as a person would (select all, then type)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    el = driver.find_element(By.ID, field)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", el)
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(text)


def click(driver, css: str) -> None:
    """Scroll an element to the middle of the window and click it."""
    from selenium.webdriver.common.by import By

    el = driver.find_element(By.CSS_SELECTOR, css)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", el)
    el.click()


def message(driver, field: str) -> str:
    """The message shown beside a field ('' when none)."""
    return driver.execute_script(
        "var m = document.getElementById('msg-' + arguments[0]); return m ? m.textContent : '';", field
    )


def horizontal_overflow(driver) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scroll)."""
    return int(
        driver.execute_script(
            "return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth;"
        )
    )


#: time a change in the browser: set a field, fire its input event, resolve when the OC table's counter changes
TIME_CHANGE_JS = """
const [field, text, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const version = () => { const t = document.getElementById('oc'); return t ? Number(t.dataset.version) : -1; };
const before = version();
const el = document.getElementById(field);
const t0 = performance.now();
const obs = new MutationObserver(() => {
  if (version() > before) { obs.disconnect(); done(performance.now() - t0); }
});
obs.observe(document.getElementById('oc_table'), {childList: true, subtree: true, attributes: true});
el.value = text;
el.dispatchEvent(new Event('input', {bubbles: true}));
setTimeout(() => { obs.disconnect(); done(-1); }, 30000);
"""


def time_change(driver, field: str, text: str) -> float:
    """Seconds from a changed field (its input event) to the updated OC table, timed in the browser
    (``performance.now``); the text input's 250 ms debounce of Shiny included, as a person sees it."""
    driver.set_script_timeout(40)
    ms = driver.execute_async_script(TIME_CHANGE_JS, field, text)
    if ms < 0:
        raise TimeoutError(f"the OC table did not update within 30 s after {field} = {text}")
    return ms / 1000
