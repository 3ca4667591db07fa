"""Scenario files: every bad-input kind gives its message; valid files load; overrides validate."""

from pathlib import Path

import pytest

import cxsim
from cxsim.uncertainty.distributions import Distribution
from tests.conftest import ROOT, SCENARIOS, TEST_SCENARIOS

BAD = sorted((TEST_SCENARIOS / "bad").glob("*.yaml"))


def expected_lines(path: Path) -> list[str]:
    return [
        line[len("# expect: ") :].rstrip("\n")
        for line in path.read_text().splitlines()
        if line.startswith("# expect: ")
    ]


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_file_reports_its_message(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    expected = expected_lines(path)
    assert expected, f"{path.name} has no '# expect:' line"
    with pytest.raises(cxsim.ScenarioError) as info:
        cxsim.load_scenario(path.relative_to(ROOT))
    message = str(info.value)
    for line in expected:
        assert line in message, f"missing {line!r} in:\n{message}"


def test_many_problems_are_all_reported(monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(cxsim.ScenarioError) as info:
        cxsim.load_scenario("tests/scenarios/bad/many_problems.yaml")
    assert len(info.value.problems) == 4


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_are_valid(path):
    scenario = cxsim.load_scenario(path)
    assert len(scenario.segments) >= 1


def test_flagship_has_the_promised_shape():
    scenario = cxsim.load_scenario(SCENARIOS / "retail_bank.yaml")
    assert len(scenario.segments) >= 3 and len(scenario.work_groups) >= 6


def test_mapping_and_file_give_the_same_scenario(minimal):
    from_file = cxsim.load_scenario(TEST_SCENARIOS / "minimal.yaml")
    from_mapping = cxsim.load_scenario(minimal)
    assert from_file.model == from_mapping.model


def test_segment_response_overrides_win(minimal):
    minimal["segments"]["core"]["responses"] = {"wallet_gain": 0.09}
    scenario = cxsim.load_scenario(minimal)
    assert scenario.responses_for("core")["wallet_gain"] == 0.09
    assert scenario.responses_for("core")["churn_reduction"] == 0.3


def test_with_overrides_changes_one_value_and_validates(minimal):
    scenario = cxsim.load_scenario(minimal)
    changed = scenario.with_overrides({"segments.core.arpu": 50})
    assert changed.segments["core"].arpu == 50.0
    assert scenario.segments["core"].arpu == 40.0
    with pytest.raises(cxsim.ScenarioError, match=r"override: segments\.core\.arpu: out of range"):
        scenario.with_overrides({"segments.core.arpu": -1})
    with pytest.raises(cxsim.ScenarioError, match="did you mean 'segments'"):
        scenario.with_overrides({"segmnts.core.arpu": 50})


def test_override_with_a_distribution(minimal):
    scenario = cxsim.load_scenario(minimal).with_overrides(
        {"responses.churn_reduction": {"dist": "pert", "min": 0.1, "mode": 0.3, "max": 0.5}}
    )
    value = scenario.responses.churn_reduction
    assert isinstance(value, Distribution) and value.support() == (0.1, 0.5)
    assert [i.path for i in scenario.uncertain_inputs()] == ["responses.churn_reduction"]


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(cxsim.ScenarioError, match="file not found"):
        cxsim.load_scenario(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(cxsim.ScenarioError, match="must be a mapping"):
        cxsim.load_scenario(tmp_path / "list.yaml")


def test_responses_required_with_work_groups(minimal):
    del minimal["responses"]
    with pytest.raises(cxsim.ScenarioError, match="responses: required when work_groups"):
        cxsim.load_scenario(minimal)


def test_boolean_is_not_a_number(minimal):
    minimal["segments"]["core"]["arpu"] = True
    with pytest.raises(cxsim.ScenarioError, match=r"segments\.core\.arpu: expected a number"):
        cxsim.load_scenario(minimal)


def _write(path, text):
    path.write_text(text)
    return path


def test_include_overrides_and_traces_files(tmp_path, minimal):
    import yaml

    minimal["include"] = ["calibration.yaml"]
    main = _write(tmp_path / "main.yaml", yaml.safe_dump(minimal))
    _write(
        tmp_path / "calibration.yaml",
        "segments:\n  core:\n    sbg: {alpha: 0.7, beta: 1.2, period: year}\n"
        "    responses: {churn_reduction: 0.25}\nprovenance:\n  fit: {r2: 0.83}\n",
    )
    scenario = cxsim.load_scenario(main)
    core = scenario.segments["core"]
    assert core.sbg.alpha == 0.7 and core.monthly_churn is None  # sbg replaced monthly_churn
    assert scenario.responses_for("core")["churn_reduction"] == 0.25
    assert core.arpu == 40.0  # untouched keys stay
    assert not any(i.path.startswith("provenance") for i in scenario.inputs())


def test_include_errors_name_the_file_each_value_came_from(tmp_path, minimal):
    import yaml

    del minimal["segments"]["core"]["referral_rate"]
    minimal["include"] = ["calibration.yaml"]
    main = _write(tmp_path / "main.yaml", yaml.safe_dump(minimal))
    _write(
        tmp_path / "calibration.yaml",
        "segments:\n  core:\n    sbg: {alpha: -0.7, beta: 1.2, period: year}\n",
    )
    with pytest.raises(cxsim.ScenarioError) as info:
        cxsim.load_scenario(main)
    lines = str(info.value).splitlines()
    assert any(
        line.endswith(
            "calibration.yaml: segments.core.sbg.alpha: out of range (got -0.7; allowed (0, inf))"
        )
        for line in lines
    ), lines
    assert any(
        "main.yaml: segments.core.referral_rate: required key is missing" in line for line in lines
    ), lines


def test_include_cycle_and_missing_include(tmp_path):
    _write(tmp_path / "a.yaml", "include: [b.yaml]\nname: a\n")
    _write(tmp_path / "b.yaml", "include: [a.yaml]\n")
    with pytest.raises(cxsim.ScenarioError, match="include cycle"):
        cxsim.load_scenario(tmp_path / "a.yaml")
    _write(tmp_path / "c.yaml", "include: [nowhere.yaml]\nname: c\n")
    with pytest.raises(cxsim.ScenarioError, match="included file not found"):
        cxsim.load_scenario(tmp_path / "c.yaml")


def test_requirement_listed_twice(minimal):
    minimal["work_groups"]["support"]["requires"] = ["it", "it"]
    minimal["work_groups"]["it"] = {
        "pain_share": {"core": 0.1},
        "plan": {"start_month": 0, "ramp_months": 3, "target": 0.5},
    }
    with pytest.raises(cxsim.ScenarioError, match=r"requires\.1: listed twice"):
        cxsim.load_scenario(minimal)


def test_whole_number_expected_shows_the_float(minimal):
    minimal["horizon_months"] = 24.0
    with pytest.raises(cxsim.ScenarioError, match=r"expected a whole number \(got 24\.0;"):
        cxsim.load_scenario(minimal)


def test_fixing_a_correlated_input_drops_its_pairs_with_a_note():
    from tests.conftest import FLAGSHIP

    scenario = cxsim.load_scenario(FLAGSHIP)
    fixed = scenario.with_overrides({"work_groups.it.cost.one_time": 3e6})
    assert fixed.segments == scenario.segments
    assert [c.between for c in fixed.correlations] == [
        ["responses.churn_reduction", "responses.promoter_gain"]
    ]
    assert fixed.notes == [
        "correlation between work_groups.it.cost.one_time and "
        "work_groups.digital.cost.one_time dropped: "
        "work_groups.it.cost.one_time is now a fixed number"
    ]
    # A new distribution keeps the correlation.
    still = scenario.with_overrides(
        {"work_groups.it.cost.one_time": {"dist": "uniform", "min": 1e6, "max": 2e6}}
    )
    assert len(still.correlations) == 2 and still.notes == []
