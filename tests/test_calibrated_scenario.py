"""scenarios/retail_bank_calibrated.yaml: the flagship plus calibration files, nothing else."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from cxsim.calibrate.files import file_sha256
from cxsim.errors import ScenarioError
from cxsim.scenario import load_scenario
from cxsim.uncertainty.distributions import parse_distribution
from cxsim.uncertainty.samples import Empirical
from tests.conftest import FLAGSHIP, ROOT, SCENARIOS

CALIBRATED = SCENARIOS / "retail_bank_calibrated.yaml"
CALIBRATION = ROOT / "data" / "calibration"
FILES = {
    "voc.yaml": ("voc", "voc_survey.csv"),
    "retention_mass_affluent.yaml": ("sbg_mass_affluent", "cohort_retention.csv"),
    "lag.yaml": ("perception_lag_nps", "indicator_series.csv"),
}


def _leaves(node: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Dotted paths of the numeric values (numbers or distribution mappings) in a fragment."""
    if isinstance(node, Mapping) and "dist" not in node:
        for key, value in node.items():
            yield from _leaves(value, (*prefix, str(key)))
    elif isinstance(node, Mapping) or (
        isinstance(node, int | float) and not isinstance(node, bool)
    ):
        yield ".".join(prefix), node


def _value(raw: Any):
    if isinstance(raw, Mapping):
        dist, problems = parse_distribution(raw)
        assert not problems, problems
        return dist
    return float(raw)


def _calibrated_values() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in FILES:
        document = yaml.safe_load((CALIBRATION / name).read_text())
        fragment = {k: v for k, v in document.items() if k not in ("provenance", "correlations")}
        found = dict(_leaves(fragment))
        assert found, f"{name} sets no input"
        values.update({path: _value(raw) for path, raw in found.items()})
    return values


@pytest.fixture(scope="module")
def flagship():
    return load_scenario(FLAGSHIP)


@pytest.fixture(scope="module")
def calibrated():
    return load_scenario(CALIBRATED)


def test_includes_every_calibration_file(calibrated):
    raw = yaml.safe_load(CALIBRATED.read_text())
    names = list(FILES)
    assert raw["include"] == [f"../data/calibration/{name}" for name in names]
    assert set(calibrated.provenance) == {record for record, _ in FILES.values()}


def test_only_the_calibrated_inputs_change(flagship, calibrated):
    before = {i.path: i.value for i in flagship.inputs()}
    after = {i.path: i.value for i in calibrated.inputs()}
    expected = _calibrated_values()
    assert set(before) <= set(after)
    assert set(after) - set(before) <= set(expected)  # new paths: per-segment responses
    for path, value in after.items():
        if isinstance(value, Empirical):  # fed by voc_samples.csv; the YAML's number is its point
            assert value.file == "voc_samples.csv" and value.name == path, path
            assert value.point == expected[path], path
        elif path in expected:
            assert value == expected[path], path
        else:
            assert value == before[path], f"{path} changed but no calibration file sets it"
    calibrated_paths = set(expected) & set(after)
    assert calibrated_paths == set(expected)
    changed = {p for p in calibrated_paths if before.get(p) != after[p]}
    assert any(p.startswith("segments.mass_affluent.sbg.") for p in changed)
    assert any(p.startswith("work_groups.") and ".pain_share." in p for p in changed)
    assert {"responses.perception_delay_months", "responses.perception_lag_months"} <= changed
    for segment in calibrated.segments:
        assert f"segments.{segment}.responses.churn_reduction" in changed


def test_correlations_are_the_flagships_plus_the_retention_fit(flagship, calibrated):
    """Correlations accumulate across included files (a pair given again takes the newer rho)."""
    retention = yaml.safe_load((CALIBRATION / "retention_mass_affluent.yaml").read_text())
    (fitted,) = retention["correlations"]
    expected = [c.model_dump() for c in flagship.correlations] + [fitted]
    assert [c.model_dump() for c in calibrated.correlations] == expected


def test_values_remember_their_calibration_file(calibrated):
    origin = calibrated.origins
    assert origin[("segments", "mass_affluent", "sbg", "alpha")].endswith(
        "retention_mass_affluent.yaml"
    )
    assert origin[("work_groups", "billing", "pain_share", "mass_market")].endswith("voc.yaml")
    assert origin[("responses", "perception_lag_months")].endswith("lag.yaml")
    assert origin[("segments", "mass_market", "arpu")].endswith("retail_bank.yaml")  # from the base


@pytest.mark.parametrize("name", list(FILES))
def test_calibration_files_match_the_shipped_data(name):
    """Each file was fitted to the data file now shipped (else rerun data/README.md's commands)."""
    record_name, data = FILES[name]
    record = yaml.safe_load((CALIBRATION / name).read_text())["provenance"][record_name]
    assert record["data_file"] == f"cxsim/datasets/data/{data}"
    assert record["data_sha256"] == file_sha256(ROOT / "cxsim" / "datasets" / "data" / data)


def _scenario_with(tmp_path: Path, fragment_text: str) -> Path:
    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "bad.yaml").write_text(fragment_text)
    body = yaml.safe_load(FLAGSHIP.read_text())
    body["include"] = ["cal/bad.yaml"]
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("fragment", "where", "message"),
    [
        (
            "segments:\n  mass_market:\n    responses:\n"
            "      churn_reduction: {dist: normal, mean: 0.2, sd: 0.05, min: 0.0}\n",
            "segments.mass_market.responses.churn_reduction",
            "the distribution reaches outside the allowed range",
        ),
        (
            "segments:\n  mass_affluent:\n    sbg: {alpha: -1.0, beta: 5.0, period: year}\n",
            "segments.mass_affluent.sbg.alpha",
            "out of range",
        ),
        ("responses: {perception_delay_months: 3\n", "", "YAML syntax error"),
    ],
)
def test_an_error_inside_an_included_file_names_that_file(tmp_path, fragment, where, message):
    path = _scenario_with(tmp_path, fragment)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    lines = str(exc.value).splitlines()
    assert len(lines) == 1, lines
    (problem,) = exc.value.problems
    assert problem.file.endswith("cal/bad.yaml") or problem.file.endswith("cal\\bad.yaml")
    assert problem.path == where and message in problem.message
