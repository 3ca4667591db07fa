"""Faults on the command line: a run killed or stopped while it writes, OS errors, output
paths refused before anything is computed, and the documented exit codes.

The rules of results folders themselves (inputs, --force, racing runs) are in
tests/test_results_folders.py.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
from pathlib import Path

import pandas as pd
import pytest

import cxsim.montecarlo
from cxsim.cli import main
from cxsim.cli.arguments import EXIT_CODES
from cxsim.outputs.folders import MARKER, PAUSE_FOR_TESTS
from tests.test_results_folders import (
    MINIMAL,
    QUICK,
    assert_complete,
    cxsim_process,
    finish,
    run,
    snapshot,
    wait_for,
)


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# -- killed or stopped while writing -------------------------------------------------------
def test_what_a_killed_run_leaves_is_removed_by_the_next(tmp_path, capsys):
    """SIGKILL cannot be caught: the staging folder stays, and the next run writing there
    removes it (saying so) and writes a whole folder."""
    out, ready = tmp_path / "case", tmp_path / "ready"
    process = cxsim_process(MINIMAL, "--out", out, *QUICK, env={PAUSE_FOR_TESTS: str(ready)})
    wait_for(ready, process)
    process.kill()
    assert finish(process)[0] == -signal.SIGKILL
    ready.unlink()
    staged = [name for name in hidden(tmp_path) if ".cxsim-staging-" in name]
    assert len(staged) == 1 and staged[0].startswith(".case.cxsim-staging-")
    assert (tmp_path / staged[0] / "summary.csv").exists()  # it was caught while writing
    assert not out.exists()

    assert run(MINIMAL, "--out", out, *QUICK) == 0
    err = capsys.readouterr().err
    assert f"{tmp_path / staged[0]}: removed, left by a run that was stopped" in err
    assert "a run writing it was stopped (pid" in err  # the lock it left says whose
    assert hidden(tmp_path) == []
    assert_complete(out)


def test_a_run_writing_next_to_a_killed_one_cleans_up_after_it(tmp_path, capsys):
    """Leftovers of a stopped run beside another target: removed once no live run holds
    their target; a folder caught half-way through its swap is put back."""
    old = tmp_path / "case"
    assert run(MINIMAL, "--out", old, *QUICK) == 0
    before = snapshot(old)
    # A run replacing `case` was killed between its two renames: the old results are aside.
    os.rename(old, tmp_path / ".case.cxsim-old-0123abcd")
    (tmp_path / ".case.cxsim-staging-89abcdef").mkdir()
    (tmp_path / ".book.xlsx.cxsim-staging-89abcdef.xlsx").write_bytes(b"half")
    # Staged by an earlier cxsim (tempfile.mkdtemp): removed only if it holds its files alone.
    shutil.copytree(old.parent / ".case.cxsim-old-0123abcd", tmp_path / ".case-k3j_9xq2")
    (tmp_path / ".case-k3j_9xq2" / MARKER).unlink()
    shutil.copytree(tmp_path / ".case-k3j_9xq2", tmp_path / ".mine-abcdefgh")
    (tmp_path / ".mine-abcdefgh" / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert run(MINIMAL, "--out", tmp_path / "other", *QUICK) == 0
    err = capsys.readouterr().err
    assert "restored the previous results" in err
    assert err.count("removed, left by a run that was stopped") == 3
    assert snapshot(old) == before
    assert hidden(tmp_path) == [".mine-abcdefgh"]


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [(signal.SIGTERM, 143, "terminated (SIGTERM)"), (signal.SIGINT, 130, "interrupted")],
)
def test_sigterm_and_ctrl_c_while_writing_leave_nothing(tmp_path, signum, code, said):
    out, ready = tmp_path / "case", tmp_path / "ready"
    args = [MINIMAL, "--out", out, "--xlsx", tmp_path / "case.xlsx", *QUICK]
    process = cxsim_process(*args, env={PAUSE_FOR_TESTS: str(ready)})
    wait_for(ready, process)
    process.send_signal(signum)
    exit_code, err = finish(process)
    ready.unlink()
    assert exit_code == code
    assert err.strip().splitlines()[-1] == said
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no folder, workbook, lock


def test_sigterm_while_simulating_in_process_exits_143_and_restores_the_handler(
    tmp_path, monkeypatch, capsys
):
    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM should have stopped the run")

    monkeypatch.setattr(cxsim.montecarlo, "simulate", terminated)
    previous = signal.getsignal(signal.SIGTERM)
    assert run(MINIMAL, "--out", tmp_path / "case", *QUICK) == 143
    assert capsys.readouterr().err.strip() == "terminated (SIGTERM)"
    assert signal.getsignal(signal.SIGTERM) is previous
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_exits_130_and_writes_nothing(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cxsim.montecarlo, "simulate", interrupted)
    assert run(MINIMAL, "--out", tmp_path / "deep" / "case", *QUICK) == 130
    assert capsys.readouterr().err.strip() == "interrupted"
    assert list(tmp_path.iterdir()) == []  # the parent folder made for it is gone too


# -- OS errors: one line, exit 1, the old results kept ----------------------------------------
@pytest.mark.parametrize(
    ("number", "reason"),
    [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system")],
)
def test_a_full_or_read_only_disk_is_one_line_and_keeps_the_old_results(
    tmp_path, monkeypatch, capsys, number, reason
):
    out = tmp_path / "case"
    assert run(MINIMAL, "--out", out, *QUICK) == 0
    before = snapshot(out)
    real = pd.DataFrame.to_csv

    def fails_half_way(self, path, *args, **kwargs):
        if Path(path).name == "horizon.csv":
            Path(path).write_text("half")
            raise OSError(number, os.strerror(number), str(path))
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", fails_half_way)
    capsys.readouterr()
    assert run(MINIMAL, "--out", out, "--force", *QUICK) == 1
    err = capsys.readouterr().err
    assert err == f"{out}: could not write: {reason}\n"
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]


def test_a_failed_swap_puts_the_old_folder_back(tmp_path, monkeypatch, capsys):
    out = tmp_path / "case"
    assert run(MINIMAL, "--out", out, *QUICK) == 0
    before = snapshot(out)
    real = os.rename

    def refuses_staging(src, dst):
        if ".cxsim-staging-" in str(src):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(src))
        return real(src, dst)

    monkeypatch.setattr(os, "rename", refuses_staging)
    capsys.readouterr()
    assert run(MINIMAL, "--out", out, "--force", *QUICK) == 1
    assert capsys.readouterr().err == f"{out}: could not write: Permission denied\n"
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]


# -- every output path is checked before anything is computed ---------------------------------
@pytest.fixture
def never_simulate(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("simulated before the output paths were checked")

    monkeypatch.setattr(cxsim.montecarlo, "simulate", fail)


@pytest.mark.parametrize(
    ("option", "name", "message"),
    [
        ("--xlsx", "file.txt/case.xlsx", "could not write: {p}/file.txt is a file, not a folder"),
        ("--xlsx", "folder.xlsx", "is a folder; --xlsx needs a file name"),
        ("--xlsx", "case.csv", "--xlsx needs a file name ending in .xlsx"),
        ("--out", "file.txt", "exists and is not a folder; --out needs a folder"),
        ("--out", "file.txt/case", "could not write: {p}/file.txt is a file, not a folder"),
        ("--plots", "file.txt/deeper/charts", "{p}/file.txt is a file, not a folder"),
    ],
)
def test_bad_output_paths_fail_before_simulating_and_write_nothing(
    tmp_path, never_simulate, capsys, option, name, message
):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "folder.xlsx").mkdir()
    before = snapshot(tmp_path), sorted(tmp_path.iterdir())
    args = [MINIMAL, "--out", tmp_path / "out", option, tmp_path / name, *QUICK]
    if option == "--out":
        args = [MINIMAL, option, tmp_path / name, *QUICK]
    assert run(*args) == 1
    err = capsys.readouterr().err
    assert message.format(p=tmp_path) in err and len(err.splitlines()) == 1
    assert (snapshot(tmp_path), sorted(tmp_path.iterdir())) == before


def test_outputs_of_the_other_commands_are_checked_before_computing(tmp_path, monkeypatch, capsys):
    from cxsim.analysis import sensitivity
    from cxsim.cli.optimize import main_optimize

    scenario = tmp_path / "s.yaml"
    scenario.write_text(MINIMAL.read_text())
    before = snapshot(tmp_path)
    monkeypatch.setattr(sensitivity, "tornado", lambda *a, **k: pytest.fail("computed"))
    monkeypatch.setattr(sensitivity, "breakeven", lambda *a, **k: pytest.fail("computed"))
    assert main(["sensitivity", str(scenario), "--plot", str(scenario)]) == 1
    assert (
        capsys.readouterr().err == f"{scenario}: is the input {scenario}; choose another --plot\n"
    )
    param = ["--param", "responses.churn_reduction"]
    assert main(["breakeven", str(scenario), *param, "--plot", str(scenario / "y.png")]) == 1
    assert f"could not write: {scenario} is a file, not a folder" in capsys.readouterr().err
    assert main(["assess", str(scenario), "--plot", str(scenario)]) == 1
    assert "is the input" in capsys.readouterr().err
    plan = [str(scenario), "--budget", "1e6", "--quiet"]
    assert main_optimize([*plan, "--frontier", str(scenario / "f.png")]) == 1
    assert f"could not write: {scenario} is a file, not a folder" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


# -- exit codes ------------------------------------------------------------------------------
def test_usage_errors_exit_2(capsys):
    assert main(["compare", str(MINIMAL)]) == 2
    assert "compare needs at least two plans" in capsys.readouterr().err
    for args in (["run", str(MINIMAL), "--set", "segments.core.arpu"], ["run", "--set", "=5"]):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 2
        assert "expected PATH=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["compare", "--help"]])
def test_help_documents_the_exit_codes(args, capsys):
    with pytest.raises(SystemExit):
        main(args)
    text = " ".join(capsys.readouterr().out.split())
    assert EXIT_CODES in text
    for code in ("0 success", "1 invalid input", "2 usage error", "130 interrupted", "143"):
        assert code in text


# -- --max-memory ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "size"),
    [("1000000", 10**6), ("2G", 2 * 2**30), ("500M", 500 * 2**20), ("1.5GiB", 3 * 2**29),
     ("64kb", 64 * 2**10), ("1T", 2**40)],
)  # fmt: skip
def test_max_memory_reads_binary_sizes(text, size):
    from cxsim.cli.arguments import memory_size

    assert memory_size(text) == size


@pytest.mark.parametrize("text", ["2X", "0", "-1G", "G", "nanG", ""])
def test_a_bad_max_memory_is_a_usage_error(text, capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", str(MINIMAL), "--max-memory", text])
    assert info.value.code == 2
    assert "--max-memory" in capsys.readouterr().err


def test_max_memory_reaches_simulate_and_a_run_over_it_writes_nothing(
    tmp_path, monkeypatch, capsys
):
    seen = {}
    real = cxsim.montecarlo.simulate

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(cxsim.montecarlo, "simulate", spy)
    assert run(MINIMAL, "--max-memory", "2G", *QUICK) == 0
    assert seen["max_memory"] == 2 * 2**30
    assert run(MINIMAL, "--max-memory", "1K", "--out", tmp_path / "case", *QUICK) == 1
    err = capsys.readouterr().err
    assert "max_memory" in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
