"""Reference documentation (``make docs``): every public verb and every design-file key is documented.

Every public verb carries a numpydoc Parameters section (issue 20 filled the data and priors stages' gaps).
The design files' keys are owned by their stages (``analysis/priors/schema.py``, ``analysis/basket/spec.py``):
the keys without a description when this test was written are listed below; a new gap fails at once, and
the test that there is none is an expected failure (strict) until the owners fill them, when it passes and
its marker must go.
"""

import tomllib

import pytest

from analysis.review.reference import (
    UNDOCUMENTED,
    build,
    design_file_keys,
    format_keys,
    missing_sections,
    public_verbs,
    schema_keys,
)

#: design-file keys without a description: (file, table) -> keys
KNOWN_KEYS = {
    ("priors", "(top level)"): {"design", "prior", "seed"},
    ("priors", "[[prior]]"): {
        "components",
        "disease",
        "endpoint_classes",
        "family",
        "label",
        "likelihood",
        "max_components",
        "mixture",
        "mu",
        "name",
        "products",
        "robust_mean",
        "robust_n",
        "robust_weight",
        "sigma",
        "sigma_cov",
        "studies",
        "tau",
    },
    ("priors", "[[prior.studies]]"): {"exposure", "m", "n", "name", "r", "se", "y"},
    ("priors", "[[prior.components]]"): {"cov", "mean", "w"},
    ("priors", '[[design]] type = "one-sample"'): {
        "c",
        "calibration",
        "compare",
        "design_prior",
        "futility",
        "grid",
        "grid_range",
        "interim_n",
        "n",
        "name",
        "p0",
        "power_rate",
        "prior",
        "report_rates",
        "sensitivity",
        "type",
    },
    ("priors", "[design.sensitivity]"): {"delta", "p0", "robust_weight"},
    ("priors", "[design.calibration]"): {"alpha", "match"},
    ("priors", '[[design]] type = "two-sample"'): {
        "c",
        "delta",
        "grid",
        "grid_range",
        "link",
        "n_c",
        "n_t",
        "name",
        "p_c",
        "power_rate",
        "prior_control",
        "prior_treatment",
        "type",
    },
    ("priors", '[[design]] type = "adaptive-two-sample"'): {
        "c",
        "conditional",
        "delta",
        "effect",
        "ess_method",
        "m",
        "n1",
        "n_min",
        "n_target",
        "name",
        "p_c",
        "prior_control",
        "prior_treatment",
        "s",
        "type",
    },
    ("basket", "(top level)"): {"calibration", "design", "indication", "method", "scenario", "scenarios", "search"},
    ("basket", "[design]"): {
        "chunk",
        "interim",
        "interim_prior",
        "interim_rule",
        "max_outcomes",
        "n_sim",
        "name",
        "oc",
        "seed",
    },
    ("basket", "[[indication]]"): {"c", "efficacy", "futility", "interim_n", "min_mean", "n", "name", "p0", "target"},
    ("basket", '[method.NAME] type = "independent"'): {"map", "prior", "type"},
    ("basket", '[method.NAME] type = "hierarchical"'): {"mu", "scale", "tau", "type"},
    ("basket", '[method.NAME] type = "exnex"'): {"component", "mu", "nex", "scale", "tau", "type", "w"},
    ("basket", '[method.NAME] type = "jsd"'): {"epsilon", "logbase", "prior", "tau", "type"},
    ("basket", '[method.NAME] type = "mem"'): {"inclusion", "prior", "structure", "type"},
    ("basket", "[scenarios]"): {"generate"},
    ("basket", "[[scenario]]"): {"name", "p"},
    ("basket", "[calibration]"): {"alpha", "control", "n_sim", "thresholds"},
}
OWNERS = "owned by the data and priors stages and the basket designer (analysis/data, analysis/priors, analysis/basket)"


def _verb_gaps() -> set[str]:
    return {name for name, obj in public_verbs().items() if missing_sections(obj)}


def _key_gaps(root) -> dict:
    gaps: dict = {}
    for k in design_file_keys(root):
        if k.description == UNDOCUMENTED:
            gaps.setdefault((k.file, k.table), set()).add(k.key)
    return gaps


def test_every_public_verb_has_a_parameters_section():
    verbs = public_verbs()
    assert "analysis.priors.oc1S" in verbs and "analysis.review.diff" in verbs
    assert not _verb_gaps(), f"public verbs without a numpydoc Parameters section: {sorted(_verb_gaps())}"


def test_the_docstring_check_can_fail():
    def documented(x: int) -> int:
        """One.

        Parameters
        ----------
        x : int
            A number.
        """
        return x

    def bare(x: int) -> int:
        """One, with no sections."""
        return x

    assert missing_sections(documented) == []
    assert missing_sections(bare) == ["Parameters"]
    assert missing_sections(lambda: None) == ["docstring"]


def test_no_design_file_key_lacks_a_description_beyond_the_known_gaps(root):
    gaps = _key_gaps(root)
    new = {where: keys - KNOWN_KEYS.get(where, set()) for where, keys in gaps.items()}
    assert not {w: k for w, k in new.items() if k}, "design-file keys without a description"


@pytest.mark.xfail(strict=True, reason=f"the design files' schemas ({OWNERS}) have no key descriptions")
def test_every_design_file_key_has_a_description(root):
    assert not _key_gaps(root)


def test_the_reference_holds_every_key_of_both_schemas(root):
    from pydantic import BaseModel, Field

    from analysis.priors.schema import OneSample, PriorSpec, Spec, Study, TwoSample

    keys = design_file_keys(root)
    priors = {(k.table, k.key) for k in keys if k.file == "priors"}
    # every field of every model, by pydantic's own JSON schema
    for model, table in (
        (Spec, "(top level)"),
        (PriorSpec, "[[prior]]"),
        (Study, "[[prior.studies]]"),
        (OneSample, '[[design]] type = "one-sample"'),
        (TwoSample, '[[design]] type = "two-sample"'),
    ):
        for name in model.model_json_schema()["properties"]:
            assert (table, name) in priors, (table, name)
    # the basket file's keys: every key of the example design file and of the test design files is listed
    basket = {(k.table, k.key) for k in keys if k.file == "basket"}
    tables = {t for t, _ in basket}
    for path in [root / "config/basket.toml", *(root / "tests/basket/data").glob("*.toml")]:
        spec = tomllib.loads(path.read_text())
        for key in spec:
            assert ("(top level)", key) in basket, (path, key)
        for key in spec.get("design", {}):
            assert ("[design]", key) in basket, (path, key)
        for ind in spec.get("indication", []):
            for key in ind:
                assert ("[[indication]]", key) in basket, (path, key)
        for name, method in spec.get("method", {}).items():
            kind = method.get("type", name)
            for key in method:
                assert (f'[method.NAME] type = "{kind}"', key) in basket, (path, key)
    assert '[method.NAME] type = "mem"' in tables

    class Documented(BaseModel):
        n: int = Field(description="Patients per arm.")
        c: float = 0.5

    one = {k.key: k for k in schema_keys(Documented, "toy")}
    assert one["n"].description == "Patients per arm." and one["n"].default == "required"
    assert one["c"].description == UNDOCUMENTED and one["c"].default == "0.5"
    page = format_keys(keys)
    assert "| `power_rate` |" in page and "| `max_outcomes` |" in page and "| `products` |" in page


def test_make_docs_builds_the_api_pages_the_keys_and_the_map(root, tmp_path):
    written = build(tmp_path / "_build", root)
    assert all(p.is_file() for p in written)
    api = (tmp_path / "_build/api/analysis/priors.html").read_text()
    assert "oc1S" in api
    diff_page = (tmp_path / "_build/api/analysis/review/diff.html").read_text()
    assert ">Parameters</h6>" in diff_page  # numpydoc sections rendered as sections
    assert "| `calibration` |" in (tmp_path / "_build/design-files.md").read_text()
    assert "tbl-estimates" in (tmp_path / "_build/paper-map.md").read_text()
