"""``extends:``: a scenario file as a base plus the keys that differ, and how it meets ``include:``.

Layers, lowest first: the base (resolved the same way: its own base, keys and includes), the
file's own keys, the file's includes. The bad-file kinds (cycle, missing base, a base that is
not a scenario, more than one base) live in tests/scenarios/bad/ with their messages.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import cxsim
from cxsim.cli import main
from tests.conftest import SCENARIOS, TEST_SCENARIOS, minimal_mapping

MINIMAL = TEST_SCENARIOS / "minimal.yaml"


def _write(path: Path, data: dict | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def base(tmp_path) -> Path:
    """The minimal scenario with a second work group, a synergy and a correlation."""
    data = minimal_mapping()
    data["work_groups"]["billing"] = {
        "pain_share": {"core": 0.2},
        "plan": {"start_month": 2, "ramp_months": 12, "target": 0.5},
        "requires": ["support"],
    }
    data["synergies"] = [{"groups": ["support", "billing"], "bonus": 0.1}]
    data["responses"]["promoter_gain"] = {"dist": "pert", "min": 0.1, "mode": 0.15, "max": 0.2}
    data["responses"]["churn_reduction"] = {"dist": "uniform", "min": 0.2, "max": 0.4}
    data["correlations"] = [
        {"between": ["responses.churn_reduction", "responses.promoter_gain"], "rho": 0.5}
    ]
    return _write(tmp_path / "base.yaml", data)


def test_own_keys_merge_into_the_base_key_by_key(tmp_path, base):
    variant = _write(
        tmp_path / "variant.yaml",
        "extends: base.yaml\nname: Faster support\n"
        "work_groups:\n  support:\n    plan: {ramp_months: 3}\n"
        "segments:\n  core: {arpu: 45}\n",
    )
    scenario = cxsim.load_scenario(variant)
    plan = scenario.work_groups["support"].plan
    assert (plan.ramp_months, plan.target, plan.start_month) == (3, 0.8, 0)  # siblings kept
    assert scenario.segments["core"].arpu == 45 and scenario.segments["core"].customers == 10000
    assert scenario.name == "Faster support"
    assert scenario.work_groups["billing"].requires == ["support"]
    # every value remembers its file: what the variant set, and what it left to the base
    assert scenario.origins[("work_groups", "support", "plan", "ramp_months")].endswith(
        "variant.yaml"
    )
    assert scenario.origins[("work_groups", "support", "plan", "target")].endswith("base.yaml")
    assert scenario.notes == []


def test_a_variant_equals_the_same_override_applied_in_python(tmp_path, base):
    """The file route and with_overrides give the same scenario and the same NPV."""
    variant = _write(
        tmp_path / "variant.yaml",
        "extends: base.yaml\nwork_groups:\n  billing:\n    plan: {target: 0.7}\n",
    )
    by_file = cxsim.load_scenario(variant)
    by_override = cxsim.load_scenario(base).with_overrides({"work_groups.billing.plan.target": 0.7})
    assert by_file.model == by_override.model
    npv = [
        cxsim.simulate(s, draws=40, seed=3).outcomes["npv"].mean() for s in (by_file, by_override)
    ]
    assert npv[0] == npv[1]


def test_lists_and_distributions_are_replaced_whole(tmp_path, base):
    variant = _write(
        tmp_path / "variant.yaml",
        "extends: base.yaml\n"
        "work_groups:\n  billing:\n    requires: []\n"
        "synergies: [{groups: [billing, support], bonus: 0.3}]\n"
        "responses:\n  promoter_gain: 0.12\n"
        "  churn_reduction: {dist: uniform, min: 0.25, max: 0.35}\n",
    )
    scenario = cxsim.load_scenario(variant)
    assert scenario.work_groups["billing"].requires == []
    assert [(s.groups, s.bonus) for s in scenario.synergies] == [(["billing", "support"], 0.3)]
    assert scenario.responses.promoter_gain == 0.12  # a number replaces a distribution
    assert scenario.data["responses"]["churn_reduction"] == {
        "dist": "uniform",
        "min": 0.25,
        "max": 0.35,
    }


def test_fixing_a_correlated_input_drops_the_bases_pair_as_an_override_does(tmp_path, base):
    variant = _write(
        tmp_path / "variant.yaml", "extends: base.yaml\nresponses: {promoter_gain: 0.12}\n"
    )
    by_file = cxsim.load_scenario(variant)
    by_override = cxsim.load_scenario(base).with_overrides({"responses.promoter_gain": 0.12})
    assert by_file.model == by_override.model and by_file.correlations == []
    (note,) = by_file.notes
    assert note.endswith(
        "variant.yaml: responses.promoter_gain: a fixed number here, so the base's correlation "
        "between responses.churn_reduction and responses.promoter_gain is dropped"
    )


def test_correlations_follow_the_include_rule(tmp_path, base):
    """A pair given again takes the variant's rho (one pair, not two); a new pair is added."""
    variant = _write(
        tmp_path / "variant.yaml",
        "extends: base.yaml\n"
        "correlations:\n"
        "  - {between: [responses.promoter_gain, responses.churn_reduction], rho: 0.2}\n",
    )
    (pair,) = cxsim.load_scenario(variant).correlations
    assert pair.rho == 0.2


def test_a_retention_model_replaces_the_bases_alternative(tmp_path, base):
    variant = _write(
        tmp_path / "variant.yaml",
        "extends: base.yaml\nsegments:\n  core:\n    sbg: {alpha: 1.0, beta: 6.0, period: year}\n",
    )
    core = cxsim.load_scenario(variant).segments["core"]
    assert core.monthly_churn is None and core.sbg.beta == 6.0


def test_chains_resolve_from_the_bottom(tmp_path, base):
    _write(
        tmp_path / "sub" / "middle.yaml", "extends: ../base.yaml\nsegments: {core: {arpu: 41}}\n"
    )
    top = _write(
        tmp_path / "top.yaml",
        "extends: sub/middle.yaml\nsegments: {core: {cac: 160}}\n",  # relative to each file
    )
    core = cxsim.load_scenario(top).segments["core"]
    assert (core.arpu, core.cac, core.customers) == (41, 160, 10000)


def test_precedence_base_then_own_keys_then_includes(tmp_path, base):
    """The base's includes sit under the file's own keys; the file's includes sit on top."""
    _write(tmp_path / "calibrated.yaml", "include: [fit.yaml]\nextends: base.yaml\n")
    _write(tmp_path / "fit.yaml", "responses: {wallet_gain: 0.07, avoidable_contacts: 0.2}\n")
    _write(tmp_path / "late.yaml", "responses: {detractor_reduction: 0.25}\n")
    variant = _write(
        tmp_path / "variant.yaml",
        "extends: calibrated.yaml\ninclude: late.yaml\n"
        "responses: {wallet_gain: 0.01, detractor_reduction: 0.5}\n",
    )
    scenario = cxsim.load_scenario(variant)
    responses = scenario.responses
    assert responses.avoidable_contacts == 0.2  # the base's include, under nothing else
    assert responses.wallet_gain == 0.01  # own key over the base's include
    assert responses.detractor_reduction == 0.25  # the file's include over its own key
    assert scenario.origins[("responses", "detractor_reduction")].endswith("late.yaml")
    (note,) = scenario.notes  # ... which is the one thing worth a warning
    assert "responses.detractor_reduction: 0.5 here is overridden by 0.25" in note


def test_an_error_in_the_base_names_the_base(tmp_path, base):
    _write(tmp_path / "broken.yaml", "extends: base.yaml\nsegments: {core: {arpu: -1}}\n")
    variant = _write(tmp_path / "variant.yaml", "extends: broken.yaml\nname: v\n")
    with pytest.raises(cxsim.ScenarioError) as info:
        cxsim.load_scenario(variant)
    (problem,) = info.value.problems
    assert problem.file.endswith("broken.yaml") and problem.path == "segments.core.arpu"


def test_extends_needs_a_file(minimal):
    minimal["extends"] = "base.yaml"
    with pytest.raises(cxsim.ScenarioError, match="extends: extends works only in scenario files"):
        cxsim.load_scenario(minimal)


@pytest.mark.parametrize("value", ["[]", "3", "''", "{file: base.yaml}"])
def test_extends_must_be_one_path(tmp_path, base, value):
    variant = _write(tmp_path / "variant.yaml", f"extends: {value}\nname: v\n")
    with pytest.raises(cxsim.ScenarioError) as info:
        cxsim.load_scenario(variant)
    (problem,) = info.value.problems
    assert (problem.path, problem.message) == ("extends", "expected one file path")


def test_a_self_reference_is_a_cycle(tmp_path):
    path = _write(tmp_path / "self.yaml", "extends: ./self.yaml\nname: me\n")
    with pytest.raises(cxsim.ScenarioError, match=r"extends cycle: .*self.yaml -> .*self.yaml"):
        cxsim.load_scenario(path)


def test_a_cycle_through_an_include_names_both_kinds(tmp_path):
    _write(tmp_path / "a.yaml", "extends: b.yaml\nname: a\n")
    _write(tmp_path / "b.yaml", "include: [a.yaml]\n")
    with pytest.raises(cxsim.ScenarioError) as info:
        cxsim.load_scenario(tmp_path / "a.yaml")
    (problem,) = info.value.problems
    assert problem.path == "include.0" and problem.message.startswith("include cycle: ")
    assert problem.message.count("a.yaml") == 2


# -- the include warning ------------------------------------------------------------------


def _include_and_edit(tmp_path: Path, base: Path, how: str) -> Path:
    """The user's slip: a variant that includes the base and changes one plan."""
    return _write(
        tmp_path / f"{how}.yaml",
        f"{how}: base.yaml\nname: Faster billing\n"
        "work_groups:\n  billing:\n    plan: {ramp_months: 4}\n",
    )


def test_an_include_that_overrides_the_files_own_value_is_a_note(tmp_path, base):
    included = cxsim.load_scenario(_include_and_edit(tmp_path, base, "include"))
    extended = cxsim.load_scenario(_include_and_edit(tmp_path, base, "extends"))
    original = cxsim.load_scenario(base)
    assert included.work_groups["billing"].plan.ramp_months == 12  # the base's value won
    assert extended.work_groups["billing"].plan.ramp_months == 4
    npv = {
        key: cxsim.simulate(s, draws=1, seed=1).outcomes["npv"].iloc[0]
        for key, s in (("base", original), ("include", included), ("extends", extended))
    }
    assert npv["include"] == npv["base"] != npv["extends"]
    name, plan = included.notes  # the name too: the base's file says "Minimal"
    assert "include.yaml: name: 'Faster billing' here is overridden by 'Minimal'" in name
    assert "include.yaml: work_groups.billing.plan.ramp_months: 4 here is overridden by 12" in plan
    assert "base.yaml (include.0)" in plan and "extends:" in plan
    assert extended.notes == []


def test_an_include_setting_the_same_value_or_a_new_key_is_not_reported(tmp_path, base):
    _write(tmp_path / "fit.yaml", "work_groups:\n  billing:\n    plan: {ramp_months: 12}\n")
    path = _write(
        tmp_path / "main.yaml",
        "extends: base.yaml\ninclude: [fit.yaml]\nname: m\n"
        "work_groups:\n  billing:\n    plan: {ramp_months: 12, target: 0.6}\n",
    )
    assert cxsim.load_scenario(path).notes == []


def test_replacing_a_whole_value_or_its_alternative_is_reported(tmp_path, base):
    _write(
        tmp_path / "fit.yaml",
        "segments:\n  core:\n    sbg: {alpha: 1.0, beta: 6.0, period: year}\n"
        "work_groups:\n  support:\n    cost: 0\n",  # not valid, but it is the merge that counts
    )
    path = _write(
        tmp_path / "main.yaml",
        "extends: base.yaml\ninclude: fit.yaml\n"
        "segments:\n  core: {monthly_churn: 0.03}\n"
        "work_groups:\n  support:\n    cost: {monthly: 100}\n",
    )
    from cxsim.scenario.loading import load_merged

    warnings = [str(w) for w in load_merged(path).warnings]
    assert any(
        "segments.core.monthly_churn: 0.03 here is overridden by segments.core.sbg: " in w
        for w in warnings
    ), warnings
    assert any(
        "work_groups.support.cost.monthly: 100 here is overridden by " in w for w in warnings
    )


def test_a_nested_include_is_named_through_the_files_own_include(tmp_path, base):
    _write(tmp_path / "cal" / "all.yaml", "include: [lag.yaml]\n")
    _write(tmp_path / "cal" / "lag.yaml", "responses: {perception_lag_months: 6}\n")
    path = _write(
        tmp_path / "main.yaml",
        "extends: base.yaml\ninclude: [cal/all.yaml]\nresponses: {perception_lag_months: 3}\n",
    )
    (note,) = cxsim.load_scenario(path).notes
    # the value's own file, then the include of this file that brought it in
    assert "responses.perception_lag_months: 3 here is overridden by 6 from " in note
    assert f"{Path('cal') / 'lag.yaml'} (include.0: " in note
    assert f"{Path('cal') / 'all.yaml'});" in note


def test_validate_prints_the_warning_and_passes(tmp_path, base, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _include_and_edit(tmp_path, base, "include")
    assert main(["validate", "include.yaml"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("include.yaml: OK")
    assert out.err == (
        "warning: include.yaml: name: 'Faster billing' here is overridden by 'Minimal' from "
        "base.yaml (include.0); included files win over a file's own keys (to build on a file "
        "and change some of its values, name it in extends: instead)\n"
        "warning: include.yaml: work_groups.billing.plan.ramp_months: 4 here is overridden by "
        "12 from base.yaml (include.0); included files win over a file's own keys (to build on "
        "a file and change some of its values, name it in extends: instead)\n"
    )
    _include_and_edit(tmp_path, base, "extends")
    assert main(["validate", "extends.yaml"]) == 0
    assert capsys.readouterr().err == ""


# -- the shipped variants -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "own"),
    [
        ("retail_bank_calibrated.yaml", {"extends", "include", "name", "description"}),
        ("sequence_all_at_once.yaml", {"extends", "name", "capabilities"}),
        ("sequence_branding_first.yaml", {"extends", "name", "capabilities"}),
        ("sequence_voice_first.yaml", {"extends", "name", "capabilities"}),
    ],
)
def test_shipped_variants_state_only_what_differs(name, own, capsys):
    """No copies: each variant names its base and sets only its own keys, with no warning
    (golden summaries in test_golden.py hold their numbers)."""
    raw = yaml.safe_load((SCENARIOS / name).read_text())
    assert set(raw) == own
    assert (SCENARIOS / raw["extends"]).is_file()
    assert main(["validate", str(SCENARIOS / name)]) == 0
    assert capsys.readouterr().err == ""
