"""Scenario files: every bad-input kind gives its message; valid files load; overrides validate."""

from pathlib import Path

import pytest

import cxsim
from cxsim.distributions import Distribution
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
