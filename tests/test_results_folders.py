"""Results folders that cannot destroy or lose data.

``--force`` replaces only a folder cxsim wrote and never one holding an input of the run;
a folder is claimed before the run computes, so of two runs writing it one stops; every
output path is checked before anything is computed. Faults (kills, full disks, exit codes)
are in tests/test_cli_faults.py.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from cxsim.cli import main
from cxsim.outputs.folders import MARKER, PAUSE_FOR_TESTS
from tests.conftest import ROOT, SCENARIOS, TEST_SCENARIOS, minimal_mapping

MINIMAL = TEST_SCENARIOS / "minimal.yaml"
QUICK = ["--seed", "1", "--draws", "3", "--quiet"]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` by relative path, with the SHA-256 of its bytes."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def run(*args) -> int:
    return main(["run", *map(str, args)])


@pytest.fixture
def shipped(tmp_path, monkeypatch) -> Path:
    """A copy of the shipped scenarios and calibration data (never the repository's own),
    with the working folder in it, as a user would run them."""
    shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- --force never deletes an input ---------------------------------------------------------
def test_force_onto_the_calibration_data_is_refused_and_deletes_nothing(shipped, capsys):
    """The reported data loss: the calibrated flagship run with --out data/calibration
    --force deleted the shipped calibration files and exited 0."""
    before = snapshot(shipped)
    code = run("scenarios/retail_bank_calibrated.yaml", "--out", "data/calibration", "--force")
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1
    assert "data/calibration: the folder holds the input data/calibration/" in err
    assert "choose another --out" in err
    assert snapshot(shipped) == before


@pytest.mark.parametrize(
    ("option", "target"),
    [
        ("--out", "data"),  # a folder above the includes
        ("--out", "scenarios"),  # the scenario file and its extends: base
        ("--out", "."),  # everything
        ("--plots", "data/calibration"),
    ],
)
def test_no_output_folder_may_hold_an_input(shipped, capsys, option, target):
    before = snapshot(shipped)
    args = ["scenarios/retail_bank_calibrated.yaml", option, target, "--force", *QUICK]
    assert run(*args) == 1
    assert "the folder holds the input" in capsys.readouterr().err
    assert snapshot(shipped) == before


def test_the_extends_base_and_a_samples_table_are_inputs_too(tmp_path, capsys):
    """A variant in one folder, its base and its samples table in others: --force onto the
    base's or the table's folder is refused, naming the file."""
    (tmp_path / "base").mkdir()
    (tmp_path / "tables").mkdir()
    (tmp_path / "variant").mkdir()
    (tmp_path / "base" / "b.yaml").write_text(MINIMAL.read_text())
    (tmp_path / "tables" / "t.csv").write_text("responses.churn_reduction\n0.1\n0.2\n0.15\n")
    variant = tmp_path / "variant" / "v.yaml"
    variant.write_text(
        yaml.safe_dump({"extends": "../base/b.yaml", "samples": [{"file": "../tables/t.csv"}]})
    )
    before = snapshot(tmp_path)
    assert run(variant, "--out", tmp_path / "base", "--force", *QUICK) == 1
    assert "holds the input" in capsys.readouterr().err
    assert run(variant, "--out", tmp_path / "tables", "--force", *QUICK) == 1
    assert "t.csv" in capsys.readouterr().err
    assert snapshot(tmp_path) == before
    # optimize's plan never replaces the base either
    from cxsim.cli.optimize import main_optimize

    plan = [str(variant), "--budget", "1e6", "--draws", "3", "--quiet", "--force"]
    assert main_optimize([*plan, "--out", str(tmp_path / "base" / "b.yaml")]) == 1
    assert "is the input" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_the_data_a_calibration_names_is_an_input(tmp_path, capsys):
    """An include's provenance: data_file names the data it was fitted to: protected."""
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "series.csv").write_text("month,nps\n1,10\n")
    (tmp_path / "fit.yaml").write_text(
        "provenance:\n  lag:\n    data_file: raw/series.csv\n    rows_used: 1\n"
    )
    scenario = minimal_mapping()
    scenario["include"] = ["fit.yaml"]
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
    before = snapshot(tmp_path)
    assert run(tmp_path / "s.yaml", "--out", tmp_path / "raw", "--force", *QUICK) == 1
    assert "raw/series.csv" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


# -- --force replaces only what cxsim wrote ---------------------------------------------------
def test_force_replaces_only_a_folder_cxsim_wrote(tmp_path, capsys):
    out = tmp_path / "case"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert run(MINIMAL, "--out", out, "--force", *QUICK) == 1
    assert f"no {MARKER} file in it" in capsys.readouterr().err
    assert snapshot(out) == {"notes.txt": hashlib.sha256(b"mine").hexdigest()}

    (out / "notes.txt").unlink()
    assert run(MINIMAL, "--out", out, *QUICK) == 0  # an empty folder needs no --force
    listed = (out / MARKER).read_text().splitlines()[1:]
    assert sorted(listed) == sorted(p for p in snapshot(out) if p != MARKER)
    assert "run.json" in listed and "summary.csv" in listed

    # A file added to a results folder is not cxsim's: --force leaves the folder alone.
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)
    assert run(MINIMAL, "--out", out, "--force", *QUICK) == 1
    assert "holds notes.txt, which cxsim did not write" in capsys.readouterr().err
    assert snapshot(out) == before

    (out / "notes.txt").unlink()
    assert run(MINIMAL, "--out", out, "--force", "--seed", "2", "--draws", "3", "--quiet") == 0
    assert '"seed": 2' in (out / "run.json").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["case"]  # no lock, staging or old copy


def test_a_marker_that_is_not_cxsims_does_not_count(tmp_path, capsys):
    out = tmp_path / "case"
    out.mkdir()
    (out / MARKER).write_text("anything\nnotes.txt\n")
    (out / "notes.txt").write_text("mine")
    assert run(MINIMAL, "--out", out, "--force", *QUICK) == 1
    assert "not a folder cxsim wrote" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine"


def test_plots_and_workbook_inside_the_results_folder_are_part_of_it(tmp_path, capsys):
    out = tmp_path / "case"
    args = [MINIMAL, "--out", out, "--plots", out / "charts", "--xlsx", out / "case.xlsx"]
    assert run(*args, *QUICK) == 0
    listed = set((out / MARKER).read_text().splitlines()[1:])
    assert {"case.xlsx", "charts/npv_histogram.png", "summary.csv"} <= listed
    assert (out / "charts" / MARKER).exists()  # the charts folder is a results folder too
    assert run(*args, "--force", *QUICK) == 0  # and the whole is replaced as cxsim's
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]


# -- two runs, one folder --------------------------------------------------------------------
def cxsim_process(*args, env=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cxsim", "run", *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "MPLBACKEND": "Agg", **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> tuple[int, str]:
    """Wait for a run; its exit code and what it wrote on stderr."""
    _, err = process.communicate(timeout=120)
    return process.returncode, err


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            code, err = finish(process)
            raise AssertionError(f"exited {code}: {err}")
        assert time.monotonic() < deadline, "the run never reached its writing step"
        time.sleep(0.02)


def assert_complete(out: Path) -> None:
    """A whole results folder: the marker lists exactly the files present, run.json parses."""
    import json

    listed = (out / MARKER).read_text().splitlines()[1:]
    assert sorted(listed) == sorted(p for p in snapshot(out) if p != MARKER)
    assert {"summary.csv", "outcomes.csv", "scenario.yaml", "run.json"} <= set(listed)
    assert json.loads((out / "run.json").read_text())["draws"] == 3


def test_racing_runs_one_wins_and_the_others_stop(tmp_path):
    """Three processes started together on the same --out: exactly one writes it, the others
    stop with one line (while it writes: another run is writing it; after: it exists)."""
    out = tmp_path / "case"
    runs = [cxsim_process(MINIMAL, "--out", out, *QUICK) for _ in range(3)]
    results = [finish(p) for p in runs]
    assert sorted(code for code, _ in results) == [0, 1, 1], results
    for code, err in results:
        if code == 1:
            assert len(err.strip().splitlines()) == 1, err
            assert "another cxsim run" in err or "folder exists and is not empty" in err
    assert_complete(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]


def test_a_run_writing_a_folder_stops_a_second_one(tmp_path):
    """The first run is held in its writing step: the second, even with --force, stops at
    once with the first run's pid, and the first then finishes its folder."""
    out, ready = tmp_path / "case", tmp_path / "ready"
    first = cxsim_process(MINIMAL, "--out", out, *QUICK, env={PAUSE_FOR_TESTS: str(ready)})
    try:
        wait_for(ready, first)
        second = cxsim_process(MINIMAL, "--out", out, "--force", *QUICK)
        code, err = finish(second)
        assert code == 1
        assert f"another cxsim run (pid {first.pid} on" in err
        assert "is writing it; wait for it to finish or choose another --out" in err
    finally:
        ready.unlink(missing_ok=True)  # lets the first go on
    code, err = finish(first)
    assert code == 0, err
    assert_complete(out)
