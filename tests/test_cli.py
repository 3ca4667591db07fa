"""The command line: exit codes, output folder rules, help."""

import subprocess
import sys

import pytest

from cxsim.cli import main
from tests.conftest import FLAGSHIP, ROOT, TEST_SCENARIOS

MINIMAL = TEST_SCENARIOS / "minimal.yaml"


def test_run_prints_business_case(capsys):
    assert main(["run", str(FLAGSHIP), "--seed", "1"]) == 0
    out = capsys.readouterr().out
    for text in ("NPV", "ROI", "IRR", "Payback", "retention_12m", "costs more to serve"):
        assert text in out


def test_run_writes_results_folder(tmp_path, capsys):
    out = tmp_path / "case"
    assert main(["run", str(MINIMAL), "--seed", "1", "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"lagging.csv", "leading.csv", "cash_flow.csv", "summary.csv", "scenario.yaml"} <= names
    # The resolved scenario written out is itself a valid scenario.
    assert main(["validate", str(out / "scenario.yaml")]) == 0


def test_run_refuses_non_empty_folder_without_force(tmp_path, capsys):
    out = tmp_path / "case"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["run", str(MINIMAL), "--out", str(out)]) == 1
    assert "not empty; use --force" in capsys.readouterr().err
    assert (out / "keep.txt").exists()
    # --force replaces only a folder cxsim wrote (tests/test_results_folders.py has the rest).
    assert main(["run", str(MINIMAL), "--out", str(out), "--force"]) == 1
    assert (out / "keep.txt").exists()
    (out / "keep.txt").unlink()
    assert main(["run", str(MINIMAL), "--out", str(out)]) == 0
    assert main(["run", str(MINIMAL), "--out", str(out), "--force"]) == 0
    assert (out / "summary.csv").exists()


def test_run_never_writes_over_its_input(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(MINIMAL.read_text())
    assert main(["run", str(scenario), "--out", str(tmp_path), "--force"]) == 1
    assert "holds the input" in capsys.readouterr().err
    assert scenario.read_text() == MINIMAL.read_text()


def test_invalid_input_exits_1_with_errors_on_stderr(tmp_path, capsys):
    bad = TEST_SCENARIOS / "bad" / "many_problems.yaml"
    out = tmp_path / "never"
    assert main(["run", str(bad), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("many_problems.yaml:") == 4
    assert not out.exists()
    assert main(["validate", str(MINIMAL), str(bad)]) == 1


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["run", str(MINIMAL), "--draws", "0"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert main([]) == 2


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["validate", "--help"]])
def test_help(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_python_m_cxsim():
    done = subprocess.run(
        [sys.executable, "-m", "cxsim", "validate", str(MINIMAL)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "cxsim", "run", "missing.yaml"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert bad.returncode == 1
    assert "file not found" in bad.stderr and "Traceback" not in bad.stderr


def test_help_and_validate_start_without_the_heavy_libraries():
    """``cxsim --help`` and ``cxsim validate`` import neither pandas nor scipy nor matplotlib:
    they answer in a fraction of a second."""
    import subprocess
    import sys

    from tests.conftest import FLAGSHIP, ROOT

    code = (
        "import sys, contextlib, io\n"
        "from cxsim.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"    assert main(['validate', {str(FLAGSHIP)!r}]) == 0\n"
        "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"


def test_the_cli_offers_the_planners_objectives():
    from cxsim.analysis.planning import RISKS
    from cxsim.cli.optimize import RISKS as offered

    assert offered == RISKS
