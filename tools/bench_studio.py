"""Speed of the design studio in a real browser, for ``make bench`` (:func:`run`).

The app is started on the paper's design (``config/basket.toml``: 3 indications of 24, five borrowing
methods, calibrated thresholds, exact OC over 25^3 joint outcomes) and driven by headless Chromium: each
change sets a field and fires its input event, and the time until the OC table shows new results is taken
in the browser (``performance.now``), Shiny's 250 ms debounce of text fields included.  Target (issue 27):
median under 1 s over 10 changes of a decision threshold.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from analysis.studio import browser
from analysis.studio.model import DEFAULT_DESIGN

#: thresholds of the first indication, one per change (each differs from the one before)
THRESHOLDS = ("0.9", "0.91", "0.92", "0.93", "0.94", "0.96", "0.97", "0.93", "0.9", "0.95")
TARGET_SECONDS = 1.0


def run(design: Path = DEFAULT_DESIGN, changes=THRESHOLDS) -> dict:
    """Seconds from a changed threshold, and from a changed target rate, to the updated OC table.

    Returns
    -------
    dict
        ``threshold_seconds`` (each change), their ``median_seconds`` and ``max_seconds``, whether the median
        meets :data:`TARGET_SECONDS`, ``compute_seconds`` (the server's part of each: OC and calibration) and its CPU seconds
        ``compute_cpu_seconds`` (steadier on a busy machine), ``target_rate_seconds`` (3 changes that reuse the outcome space, too),
        ``first_table_seconds`` (page load to the first table: every method's outcome space computed) and
        the machine's load average; ``error`` when no browser can run.
    """
    why = browser.available()
    if why:
        return {"error": why}
    load = [round(x, 2) for x in os.getloadavg()]
    with browser.running_app(design) as url:
        driver = browser.chrome(1280, 900)
        try:
            t0 = time.perf_counter()
            driver.get(url)
            browser.wait_table(driver, 0, timeout=600)
            first = time.perf_counter() - t0
            time.sleep(1.0)  # the figure of the first table drawn
            times, compute, cpu = [], [], []
            for c in changes:
                times.append(browser.time_change(driver, "thr_c_0", c))
                data = driver.execute_script("return document.getElementById('oc').dataset")
                compute.append(float(data["seconds"]))
                cpu.append(float(data["cpuSeconds"]))
            targets = [browser.time_change(driver, "ind_target_1", t) for t in ("0.65", "0.55", "0.6")]
        finally:
            driver.quit()
    med = statistics.median(times)
    return {
        "design": str(design),
        "threshold_seconds": [round(t, 4) for t in times],
        "median_seconds": round(med, 4),
        "max_seconds": round(max(times), 4),
        "target_seconds": TARGET_SECONDS,
        "meets_target": med < TARGET_SECONDS,
        "compute_seconds": [round(t, 4) for t in compute],
        "median_compute_seconds": round(statistics.median(compute), 4),
        "compute_cpu_seconds": [round(t, 4) for t in cpu],
        "median_compute_cpu_seconds": round(statistics.median(cpu), 4),
        "target_rate_seconds": [round(t, 4) for t in targets],
        "first_table_seconds": round(first, 2),
        "includes_debounce_seconds": 0.25,
        "load_average_before": load,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


if __name__ == "__main__":  # pragma: no cover - python -m tools.bench_studio
    import json

    print(json.dumps(run(), indent=2))
