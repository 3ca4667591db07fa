"""Every result says where it came from, and that is enough to re-run it exactly."""

from __future__ import annotations

import hashlib
import json
import sys

import pytest

import cxsim
from cxsim._version import __version__
from cxsim.cli import main
from tests.conftest import SCENARIOS

CALIBRATED = SCENARIOS / "retail_bank_calibrated.yaml"


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_file_read_is_fingerprinted():
    scenario = cxsim.load_scenario(CALIBRATED)
    names = list(scenario.files)
    assert names[0].endswith("retail_bank_calibrated.yaml")
    assert any(name.endswith("scenarios/retail_bank.yaml") for name in names)  # the base
    calibration = [name for name in names if "data/calibration" in name]
    assert sum(name.endswith(".yaml") for name in calibration) == 3  # the includes
    assert any(name.endswith("data/calibration/voc_samples.csv") for name in calibration)
    root = SCENARIOS.parent
    for name, digest in scenario.files.items():
        assert digest == _sha(root / name if not name.startswith("/") else name)


def test_overrides_accumulate_with_their_source():
    scenario = cxsim.load_scenario(SCENARIOS / "retail_bank.yaml")
    first = scenario.with_overrides({"segments.mass_market.arpu": 20}, source="--set")
    second = first.with_overrides({"discount_rate": 0.07})
    assert second.overrides == [
        ("segments.mass_market.arpu", 20, "--set"),
        ("discount_rate", 0.07, "override"),
    ]
    assert second.files == scenario.files


def test_the_printed_case_opens_with_its_provenance(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(SCENARIOS.parent)
    argv = ["run", "scenarios/retail_bank.yaml", "--draws", "50", "--quiet"]
    argv += ["--set", "segments.mass_market.arpu=20", "--out", str(tmp_path / "out")]
    monkeypatch.setattr(sys, "argv", ["cxsim", *argv])
    assert main(argv) == 0
    head = capsys.readouterr().out.splitlines()[:4]
    assert head[0] == "Retail bank CX programme"
    assert "scenarios/retail_bank.yaml (sha256 " in head[1]
    assert "50 draws" in head[2] and f"cxsim {__version__}" in head[2] and "seed " in head[2]
    assert head[3] == "  overrides: segments.mass_market.arpu = 20 (--set)"

    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["draws"] == 50 and isinstance(record["seed"], int)
    assert record["overrides"] == [
        {"path": "segments.mass_market.arpu", "value": 20, "source": "--set"}
    ]
    assert record["cxsim_version"] == __version__
    assert record["scenario_sha256"] == {
        "scenarios/retail_bank.yaml": _sha(SCENARIOS / "retail_bank.yaml")
    }
    assert record["command"][1:] == argv and record["date"]
    # The record is enough to run it again: the same numbers, draw for draw.
    again = cxsim.simulate(
        cxsim.load_scenario(record["file"]).with_overrides(
            {o["path"]: o["value"] for o in record["overrides"]}
        ),
        draws=record["draws"],
        seed=record["seed"],
    )
    written = (tmp_path / "out" / "outcomes.csv").read_text().splitlines()[1].split(",")
    assert float(written[1]) == pytest.approx(again.outcomes["npv"].iloc[0], rel=1e-12)
