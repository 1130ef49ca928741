"""Reference documentation (``make docs``): every public verb and every design-file key is documented.

Every public verb carries a numpydoc Parameters section (issue 20 filled the data and priors stages' gaps).

Every design-file key has a description: the priors file's in its pydantic schema
(``Field(description=...)`` in ``analysis/priors/schema.py``), the basket file's in
``analysis/basket/keys.py`` and each borrowing method's ``key_docs``; a key without one fails at once.
"""

import html
import tomllib

from analysis.review.reference import (
    UNDOCUMENTED,
    build,
    design_file_keys,
    format_keys,
    missing_sections,
    public_verbs,
    schema_keys,
)


def _verb_gaps() -> set[str]:
    return {name for name, obj in public_verbs().items() if missing_sections(obj)}


def _key_gaps(keys) -> dict:
    gaps: dict = {}
    for k in keys:
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


def test_every_design_file_key_has_a_description(root):
    keys = design_file_keys(root)
    assert {k.file for k in keys} == {"priors", "basket"}
    gaps = _key_gaps(keys)
    assert not gaps, f"design-file keys without a description: {gaps}"


def test_the_reference_holds_every_key_of_both_schemas(root):
    from pydantic import BaseModel, Field

    from analysis.priors.schema import (
        AdaptiveTwoSample,
        Calibration,
        MvComponent,
        OneSample,
        PriorSpec,
        Sensitivity,
        Spec,
        Study,
        TwoSample,
    )

    keys = design_file_keys(root)
    priors = {(k.table, k.key) for k in keys if k.file == "priors"}
    # every field of every model, by pydantic's own JSON schema
    for model, table in (
        (Spec, "(top level)"),
        (PriorSpec, "[[prior]]"),
        (Study, "[[prior.studies]]"),
        (MvComponent, "[[prior.components]]"),
        (OneSample, '[[design]] type = "one-sample"'),
        (Sensitivity, "[design.sensitivity]"),
        (Calibration, "[design.calibration]"),
        (TwoSample, '[[design]] type = "two-sample"'),
        (AdaptiveTwoSample, '[[design]] type = "adaptive-two-sample"'),
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


def test_a_bar_in_a_description_stays_in_its_cell():
    """A description such as P(p > p0 | data) > c keeps its '|' escaped, so the row keeps four cells."""
    from analysis.review.reference import Key

    page = format_keys([Key("toy", "[t]", "c", "'a' | 'b'", "0.5", "Go when P(p > p0 | data) > c.")])
    (row,) = [line for line in page.splitlines() if line.startswith("| `c` |")]
    assert row == "| `c` | 'a' \\| 'b' | 0.5 | Go when P(p > p0 \\| data) > c. |"
    unescaped = row.replace("\\|", "")
    assert unescaped.count("|") == 5


def test_make_docs_builds_the_api_pages_the_keys_and_the_map(root, tmp_path):
    written = build(tmp_path / "_build", root)
    assert all(p.is_file() for p in written)
    api = (tmp_path / "_build/api/analysis/priors.html").read_text()
    assert "oc1S" in api
    diff_page = (tmp_path / "_build/api/analysis/review/diff.html").read_text()
    assert ">Parameters</h6>" in diff_page  # numpydoc sections rendered as sections
    assert "| `calibration` |" in (tmp_path / "_build/design-files.md").read_text()
    # the schema's descriptions reach the page as written: the two-sample decision, whose text holds a '|'
    # (one cell) and two names with '_' (no emphasis)
    from analysis.priors.schema import TwoSample

    text = TwoSample.model_fields["type"].description
    page = (tmp_path / "_build/design-files.html").read_text()
    assert "|" in text and html.escape(text, quote=False) in page
    assert "tbl-estimates" in (tmp_path / "_build/paper-map.md").read_text()


def test_basket_key_descriptions_name_only_keys_the_reader_allows(root):
    """No basket key description outlives its key (that every key has one: the test above)."""
    from analysis.basket import keys as docs
    from analysis.basket import methods
    from analysis.review.reference import basket_keys

    allowed = {(k.table, k.key) for k in basket_keys(root / "config" / "basket.toml")}
    written = {(t, k) for t, d in docs.DESCRIPTIONS.items() for k in d}
    for kind, cls in methods.REGISTRY.items():
        written |= {(f'[method.NAME] type = "{kind}"', k) for k in cls.key_docs}
        assert set(cls.key_docs) == set(cls.keys), kind
    assert written <= allowed, sorted(written - allowed)
