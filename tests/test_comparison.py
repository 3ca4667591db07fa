"""Plan comparison on common random numbers, and the what-if CLI commands."""

import numpy as np
import pytest

import cxsim
from cxsim.analysis.comparison import compare
from cxsim.cli import main
from tests.conftest import FLAGSHIP, TEST_SCENARIOS


def test_identical_plans_differ_by_exactly_zero():
    scenario = cxsim.load_scenario(FLAGSHIP)
    result = compare([scenario, scenario], names=["a", "b"], draws=100, seed=4)
    assert np.all(result.table["b − a"].to_numpy() == 0)
    assert result.beats.loc["b", "p_beats_reference"] == 0.0


def test_a_cheaper_plan_beats_in_every_draw():
    scenario = cxsim.load_scenario(FLAGSHIP)
    cheaper = scenario.with_overrides({"work_groups.branch.cost.monthly": 10000})
    result = compare([scenario, cheaper], names=["plan", "cheaper"], draws=200, seed=4)
    saving = result.table.loc["PV of programme cost", "cheaper − plan"]
    assert saving < 0
    assert result.table.loc["NPV", "cheaper − plan"] == pytest.approx(-saving, rel=1e-9)
    assert result.beats.loc["cheaper", "p_beats_reference"] == 1.0
    assert "P(beats plan)" in result.to_text()


def test_cli_compare_sensitivity_breakeven(capsys, tmp_path):
    assert main(["compare", str(FLAGSHIP), str(FLAGSHIP), "--draws", "50"]) == 0
    assert "P(NPV > 0)" in capsys.readouterr().out
    png = tmp_path / "t.png"
    assert main(["sensitivity", str(FLAGSHIP), "--plot", str(png)]) == 0
    assert "responses.wallet_gain" in capsys.readouterr().out and png.stat().st_size > 0
    assert (
        main(
            [
                "breakeven",
                str(FLAGSHIP),
                "--param",
                "work_groups.it.cost.monthly",
                "--draws",
                "50",
                "--range",
                "0",
                "2000000",
            ]
        )
        == 0
    )
    assert "break-even work_groups.it.cost.monthly =" in capsys.readouterr().out
    assert main(["breakeven", str(FLAGSHIP), "--param", "responses.churn"]) == 1
    assert "unknown input" in capsys.readouterr().err
    assert main(["compare", str(FLAGSHIP)]) == 1


def test_cli_set_overrides_and_their_errors(capsys):
    minimal = str(TEST_SCENARIOS / "minimal.yaml")
    assert (
        main(
            [
                "run",
                minimal,
                "--seed",
                "1",
                "--set",
                "segments.core.arpu=50",
                "--set",
                "responses.churn_reduction={dist: pert, min: 0.1, mode: 0.2, max: 0.3}",
                "--draws",
                "20",
            ]
        )
        == 0
    )
    assert "mean" in capsys.readouterr().out
    assert main(["run", minimal, "--set", "segments.core.arpu=-5"]) == 1
    assert (
        "--set: segments.core.arpu: out of range (got -5; allowed [0, inf))"
        in capsys.readouterr().err
    )
    assert main(["run", minimal, "--set", "segments.cor.arpu=5"]) == 1
    assert "did you mean 'core'" in capsys.readouterr().err
    assert (
        main(
            [
                "run",
                minimal,
                "--set",
                "responses.churn_reduction={dist: pert, min: 0.4, mode: 0.2, max: 0.3}",
            ]
        )
        == 1
    )
    assert (
        "--set: responses.churn_reduction.max: must be greater than min" in capsys.readouterr().err
    )
    assert main(["run", minimal, "--set", "novalue"]) == 1
    assert "expected PATH=VALUE" in capsys.readouterr().err


def test_cli_run_writes_plots_and_workbook(tmp_path, capsys):
    plots, book = tmp_path / "plots", tmp_path / "case.xlsx"
    assert (
        main(
            [
                "run",
                str(FLAGSHIP),
                "--draws",
                "50",
                "--seed",
                "1",
                "--quiet",
                "--plots",
                str(plots),
                "--xlsx",
                str(book),
            ]
        )
        == 0
    )
    names = {p.name for p in plots.iterdir()}
    assert {
        "fan_customers.png",
        "npv_histogram.png",
        "cash_flow.png",
        "tornado.png",
        "waterfall.png",
        "timeline.png",
    } <= names
    from openpyxl import load_workbook

    assert "Sensitivity" in load_workbook(book).sheetnames
    assert main(["run", str(FLAGSHIP), "--xlsx", str(tmp_path / "case.csv")]) == 1


def test_a_streamed_comparison_on_an_executor_matches_the_kept_one():
    """keep='summary' and an executor change neither the outcomes nor the mechanisms."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import SCENARIOS

    plans = [
        cxsim.load_scenario(SCENARIOS / f"sequence_{name}.yaml")
        for name in ("voice_first", "branding_first")
    ]
    kept = compare(plans, draws=300, seed=2, keep="all")
    with ThreadPoolExecutor(2) as pool:
        streamed = compare(plans, draws=300, seed=2, keep="summary", executor=pool)
    assert streamed.table.equals(kept.table) and streamed.beats.equals(kept.beats)
    assert kept.mechanisms is not None and streamed.mechanisms is not None
    np.testing.assert_allclose(streamed.mechanisms, kept.mechanisms, rtol=1e-12)
    # the mechanisms are means over draws and months of the kept arrays
    quality = kept.results[0].mechanisms["targeting_quality"]
    first = kept.mechanisms.iloc[0, 0]
    assert first == pytest.approx(quality[:, :12].mean(), rel=1e-12)
