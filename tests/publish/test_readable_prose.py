"""Wording a reader can check: printed differences that subtract, no internal ids, no repeated phrases.

The unit tests need nothing built; the ``pipeline`` ones read the rendered paper (`make paper`).
"""

import html
import re
from pathlib import Path

import pytest

from analysis.publish.basket import GAIN_SCALE, _once, printed_lost, statements

# an internal id of the data files: upper-case letters or digits, an underscore, letters (MULLER24_SLE)
INTERNAL_ID = re.compile(r"\b[A-Z0-9]+_[A-Za-z]+\b")
# '... up to 0.022 of power (..., SLE: 0.918 against 0.940 without borrowing)'
LONE_COST = re.compile(r"up to (\d\.\d+) of power \([^:]*: (\d\.\d+) against (\d\.\d+) without borrowing\)")
# a Table S12 cell: '0.936 (+0.004)'
LONE_CELL = re.compile(r"^(\d\.\d+) \(([+-]\d\.\d+)\)$")


def _decimals(s: str) -> int:
    return len(s.split(".")[1])


def test_the_printed_loss_is_the_difference_of_the_printed_powers():
    # 0.9176 and 0.9404 print as 0.918 and 0.940: the loss printed is 0.022, not round(0.0228) = 0.023
    power, base, lost = printed_lost(0.9176, 0.0228)
    assert (power, base) == ("0.918", "0.940")
    assert f"{lost:.3f}" == "0.022"
    assert f"{printed_lost(0.5, 0.0)[2]:+.3f}" == "+0.000"  # never '-0.000'


def test_the_averaged_loss_groups_the_methods_by_verb():
    from tests.basket.test_publish_basket import CAL, DESIGN, _oc

    say = statements(_oc(0.7, 0.95), CAL, DESIGN)
    assert say["lone_avg"] == "a disease that responds alone loses 0.100 of power with the MEM"
    assert say["lone_avg"].count("a disease that responds alone") == 1
    say = statements(_oc(0.9, 0.95), CAL, DESIGN)
    assert say["lone_avg"].startswith("a disease that responds alone gains 0.100 of power")


def test_a_method_s_settings_drop_the_gain_scale_the_prose_states_once():
    jsd = "Beta(1, 1); weights (1 - JSD)^2, 0 when at most 0.5; borrowing the gain over the null, logit(p) - logit(p0)"
    mem = "Beta(1, 1); prior exchangeability probability 0.5 (symmetric; sharing the gain over the null, logit(p) - logit(p0))"
    assert _once(jsd) == "Beta(1, 1); weights (1 - JSD)^2, 0 when at most 0.5"
    assert _once(mem) == "Beta(1, 1); prior exchangeability probability 0.5 (symmetric)"
    assert not GAIN_SCALE.search(_once(jsd) + _once(mem))


def _main_body(root: Path) -> str:
    """The rendered text from the Introduction to the reference list (not the bibliography, whose keys are no
    prose): between the table of contents' 'References' and the list's heading."""
    path = root / "manuscript/_manuscript/index.html"
    if not path.is_file():
        pytest.fail(f"{path} is not built: run `make paper`")
    t = path.read_text(encoding="utf-8")
    t = re.sub(r"<script.*?</script>|<style.*?</style>", "", t, flags=re.S)
    t = html.unescape(re.sub(r"<[^>]+>", " ", t))
    t = re.sub(r"\s+", " ", t)
    assert t.count(" References ") == 2, "expected 'References' in the table of contents and as the list's heading"
    return t.split(" References ")[1]


@pytest.mark.pipeline
def test_no_internal_id_in_the_main_text(root):
    found = sorted(set(INTERNAL_ID.findall(_main_body(root))))
    assert not found, f"internal ids in the rendered main text: {found}"


@pytest.mark.pipeline
def test_the_lone_cost_sentence_subtracts(root):
    hits = LONE_COST.findall(_main_body(root))
    if (root / "manuscript/tables/basket-lone.md").is_file():
        assert hits, "the basket section no longer says what borrowing costs a lone responder"
    for lost, power, base in hits:
        assert _decimals(lost) == _decimals(power) == _decimals(base)
        assert f"{float(base) - float(power):.{_decimals(lost)}f}" == lost, (lost, power, base)


@pytest.mark.pipeline
def test_table_s12_losses_subtract(root):
    path = root / "manuscript/tables/basket-lone.md"
    if not path.is_file():
        pytest.skip("this cohort has no basket trial")
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("|") and not line.startswith("|:")
    ]
    header, body = rows[0], rows[1:]
    base = body[0]  # the first row is the method without borrowing
    assert base[0].startswith("Independent"), base
    checked = 0
    for j, name in enumerate(header):
        if not name.endswith(" alone"):
            continue
        ref = LONE_CELL.match(base[j]).group(1)
        for row in body:
            power, lost = LONE_CELL.match(row[j]).groups()
            assert f"{float(ref) - float(power) + 0.0:+.{_decimals(lost)}f}" == lost, (name, row[0], ref, row[j])
            checked += 1
    assert checked >= len(body)


@pytest.mark.pipeline
def test_no_sentence_repeats_ranges_from(root):
    for sentence in re.split(r"(?<=[.;]) ", _main_body(root)):
        assert sentence.count("ranges from") <= 1, sentence


def test_the_generic_methods_claim_no_nuts_failure_the_study_does_not_state():
    """The half-Cauchy scenarios are always computed exactly (analysis/bayes/sensitivity.py); that NUTS diverged on
    them was measured on the paper's all-responding data, so only the study's own text may say it."""
    from analysis.publish import prose_models
    from analysis.publish.prose import Facts

    f = Facts(groups=("AAV", "MG"), endpoint={"AAV": "BVAS remission", "MG": "MG-ADL improvement"})
    assert "NUTS diverged" not in prose_models.sensitivity_methods({}, f)
    said = "Under the half-Cauchy priors NUTS diverged in every parametrisation we tried."
    assert prose_models.sensitivity_methods({}, f, said).endswith(" " + said)


def test_the_generic_map_sentence_names_the_evidence_not_internal_ids():
    from analysis.publish import prose_models
    from analysis.publish.prose import Facts

    f = Facts(groups=("AAV",), endpoint={"AAV": "BVAS remission"})
    text = prose_models.priors_results({"priors": {"map": {"primary": {"label": "x"}}}}, f)
    assert "priors.map.primary.cohorts" not in text
    assert "priors.map.primary.evidence" in text and "priors.map.primary.responders" in text
