"""The studio in a real browser: Debian's headless Chromium driven by Selenium, against the app started as
``python -m analysis studio`` on a free local port (tests/studio/design.toml: the paper's three indications of
24, exact OC, two fast methods)."""

import math
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from analysis.basket import spec as basket_spec
from analysis.basket.calibrate import Calibration, calibrate
from analysis.basket.run import operating_characteristics
from analysis.studio import browser

HERE = Path(__file__).resolve().parent
DESIGN = HERE / "design.toml"

pytestmark = pytest.mark.skipif(bool(browser.available()), reason=browser.available() or "browser available")


@pytest.fixture(scope="module")
def url():
    with browser.running_app(DESIGN) as address:
        yield address


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def driver(downloads):
    d = browser.chrome(1280, 900, downloads)
    yield d
    d.quit()


@pytest.fixture
def page(driver, url):
    """A fresh session of the studio with its first OC table shown."""
    driver.get(url)
    browser.wait_table(driver, 0)
    return driver


def _cli(design) -> pd.DataFrame:
    return operating_characteristics(design)


def _row(df, scenario, method, indication, thresholds="nominal"):
    sel = (
        (df["scenario"] == scenario)
        & (df["method"] == method)
        & (df["indication"] == indication)
        & (df["thresholds"] == thresholds)
    )
    return df[sel].iloc[0]


def test_a_changed_threshold_shows_the_value_the_cli_computes(page):
    base = basket_spec.load(DESIGN)
    key = "nominal|all null|independent|SLE"
    before = float(browser.cell(page, key, "go"))
    assert before == _row(_cli(base), "all null", "independent", "SLE")["go"]
    v = browser.table_version(page)
    browser.type_into(page, "thr_c_0", "0.8")
    browser.wait(page, lambda d: browser.cell(d, key, "go") != repr(before), 20, "the new P(go)")
    changed = replace(base, indications=[replace(base.indications[0], c=0.8), *base.indications[1:]])
    ref = _cli(changed)
    assert browser.table_version(page) > v
    assert float(browser.cell(page, key, "go")) == _row(ref, "all null", "independent", "SLE")["go"]
    fwer = float(browser.cell(page, "nominal|all null|jsd|(any)", "fwer"))
    assert fwer == _row(ref, "all null", "jsd", "(any)")["fwer"]


def test_calibrate_then_download_the_toml_that_the_cli_turns_into_the_same_table(page, downloads):
    """Calibration at alpha = 0.1 (each indication, global null) shows the designer's thresholds; the downloaded
    file, read by the CLI's reader, gives the table the page shows, cell for cell."""
    from selenium.webdriver.common.by import By

    v = browser.table_version(page)
    browser.click(page, "input[name=thr_mode][value=calibrated]")
    browser.wait_table(page, v, 30)
    browser.wait(page, lambda d: d.find_elements(By.ID, "calibration"), 20, "the calibration table")
    design = basket_spec.load(DESIGN)
    ref = calibrate(design, design.methods[0], Calibration(0.1))
    shown = page.find_element(By.ID, "calibration").text
    for thr in ref["thresholds"]:
        assert f"{thr:.4f}" in shown
    for old in downloads.glob("*.toml"):
        old.unlink()
    browser.click(page, "#download")
    browser.wait(page, lambda d: list(downloads.glob("*.toml")), 20, "the downloaded design file")
    time.sleep(0.3)
    path = next(downloads.glob("*.toml"))
    ref = _cli(basket_spec.load(path))
    shown = browser.table_values(page)
    assert shown, "no OC table"
    for (key, col), value in shown.items():
        thresholds, scenario, method, indication = key.split("|")
        want = _row(ref, scenario, method, indication, thresholds)[col]
        if isinstance(want, float) and math.isnan(want):
            assert value == "nan"
        elif isinstance(want, str):
            assert value == repr(want)
        else:
            assert float(value) == want, (key, col)
    assert tomllib.loads(path.read_text())["calibration"]["alpha"] == 0.1


BAD = [
    ("ind_p0_0", "1.2", "indication 'SLE', key 'p0': 1.2 must be < 1", "0.3"),
    ("ind_n_1", "0", "indication 'IIM', key 'n': 0 must be >= 1", "24"),
    ("ind_target_2", "abc", "indication 'SSc', key 'target': 'abc' is not float", "0.5"),
    ("jsd_epsilon", "-1", "[method.jsd], key 'epsilon': -1.0 must be > 0", "2.0"),
]


def test_bad_input_shows_the_clis_message_beside_the_field_and_keeps_the_results(page):
    """A rate of 1.2, n = 0, text in a number, a negative epsilon: the reader's message (the CLI's words) beside
    the field, the field marked, the last valid table kept, no traceback; the valid value clears the message."""
    from selenium.webdriver.common.by import By

    browser.click(page, ".accordion-item[data-value=methods] .accordion-button")  # open the methods panel
    browser.wait(page, lambda d: d.find_element(By.ID, "jsd_epsilon").is_displayed(), 10, "jsd's fields")
    for field, text, expected, fixed in BAD:
        before = browser.table_values(page)
        v = browser.table_version(page)
        browser.type_into(page, field, text)
        browser.wait(page, lambda d, f=field: browser.message(d, f), 20, f"the message beside {field}")
        assert browser.message(page, field) == f"studio design, {expected}"
        assert "is-invalid" in page.find_element(By.ID, field).get_attribute("class")
        time.sleep(0.3)
        assert browser.table_version(page) == v and browser.table_values(page) == before
        body = page.find_element(By.TAG_NAME, "body").text.lower()
        assert "traceback" not in body and "error has occurred" not in body
        browser.type_into(page, field, fixed)
        browser.wait(page, lambda d, f=field: not browser.message(d, f), 20, "the message to go")
        assert "is-invalid" not in page.find_element(By.ID, field).get_attribute("class")
        assert browser.table_values(page) == before


def test_add_and_remove_an_indication(page):
    """A fourth indication (25^4 joint outcomes: simulated, in the background) then removed again: the fields
    follow, the background work of the four-indication design is superseded, and the table of the three
    indications comes back unchanged."""
    from selenium.webdriver.common.by import By

    before = browser.table_values(page)
    v = browser.table_version(page)
    browser.click(page, "#add_indication")
    browser.wait(page, lambda d: d.find_elements(By.ID, "ind_name_3"), 20, "a fourth indication")
    assert page.find_element(By.ID, "ind_name_3").get_attribute("value") == "Indication 4"
    assert page.find_element(By.ID, "thr_c_3").get_attribute("value") == "0.9"  # copied from the last one
    browser.click(page, ".accordion-item[data-value=scenarios] .accordion-button")  # drawn when shown
    browser.wait(page, lambda d: d.find_elements(By.ID, "scen_custom"), 20, "the scenarios panel")
    custom = page.find_element(By.ID, "scen_custom").get_attribute("value")
    assert custom == "SLE and IIM active: 0.6, 0.6, 0.2, 0.2"  # the new one at its null rate
    browser.wait(page, lambda d: d.find_element(By.ID, "progress").is_displayed(), 30, "the simulation's progress")
    browser.click(page, "#remove_indication")
    browser.wait(page, lambda d: not d.find_elements(By.ID, "ind_name_3"), 20, "three indications")
    browser.wait_table(page, v, 60)
    assert browser.table_values(page) == before


SLOW = """
[design]
name = "slow"
oc = "simulate"
n_sim = 2000000
chunk = 500

[[indication]]
name = "A"
n = 24
p0 = 0.3
target = 0.6
c = 0.95

[method.independent]
prior = [1, 1]

[scenarios]
generate = ["null"]
"""


def test_open_a_design_see_progress_and_cancel(page, tmp_path):
    """Opening a file checks it as the CLI does (its message for a bad one); a simulated design shows progress
    and stops on Cancel, keeping the last results."""
    from selenium.webdriver.common.by import By

    bad = tmp_path / "bad.toml"
    bad.write_text(SLOW.replace("n = 24", "n = 0"))
    page.find_element(By.ID, "open").send_keys(str(bad))
    browser.wait(page, lambda d: d.find_elements(By.ID, "open-message"), 20, "the open message")
    assert page.find_element(By.ID, "open-message").text == "bad.toml, indication 'A', key 'n': 0 must be >= 1"
    before = browser.table_values(page)
    slow = tmp_path / "slow.toml"
    slow.write_text(SLOW)
    page.find_element(By.ID, "open").send_keys(str(slow))
    browser.wait(page, lambda d: d.find_element(By.ID, "progress").is_displayed(), 20, "the progress bar")
    browser.wait(page, lambda d: "chunk" in d.find_element(By.ID, "progress_message").text, 20, "a chunk done")
    browser.click(page, "#cancel")
    browser.wait(page, lambda d: d.find_elements(By.ID, "status_text"), 20, "the cancelled note")
    assert page.find_element(By.ID, "status_text").text == "cancelled: showing the last results"
    browser.wait(page, lambda d: not d.find_element(By.ID, "progress").is_displayed(), 20, "the bar to go")
    assert browser.table_values(page) == before
    assert page.find_element(By.ID, "ind_name_0").get_attribute("value") == "A"  # the opened design's fields


def test_screenshots_at_1280_and_400_px_have_no_horizontal_scroll(driver, url, tmp_path_factory):
    page = driver
    if not page.current_url.startswith(url):
        page.get(url)
    browser.wait_table(page, 0)
    out = tmp_path_factory.mktemp("screenshots")
    try:
        for width in (1280, 400):
            browser.viewport(page, width, 900)
            time.sleep(0.5)
            path = out / f"studio-{width}.png"
            page.save_screenshot(str(path))
            assert path.stat().st_size > 10_000
            assert page.execute_script("return window.innerWidth") == width
            assert browser.horizontal_overflow(page) <= 0, f"horizontal scroll at {width} px"
    finally:
        browser.viewport(page, 1280, 900)
