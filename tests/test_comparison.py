"""Plan comparison on common random numbers, and the what-if CLI commands."""

import numpy as np
import pytest

import cxsim
from cxsim.analysis.comparison import WIDTH, compare
from cxsim.cli import main
from cxsim.cli.arguments import load_scenario_with_sets
from cxsim.cli.main import build_parser
from cxsim.cli.whatif import compare_plans
from cxsim.errors import CxsimError
from cxsim.outputs.summary import format_value
from tests.conftest import FLAGSHIP, SCENARIOS, TEST_SCENARIOS

MINIMAL = TEST_SCENARIOS / "minimal.yaml"


def test_identical_plans_differ_by_exactly_zero():
    scenario = cxsim.load_scenario(FLAGSHIP)
    result = compare([scenario, scenario], names=["a", "b"], draws=100, seed=4)
    difference = result.table["b − a"]
    # A payback difference is n/a when some draws have not paid back within the horizon.
    censored = difference.isna()
    assert set(difference.index[censored]) <= {"Payback (months)"}
    assert np.all(difference[~censored].to_numpy() == 0)


def test_paybacks_beyond_the_horizon_are_lower_bounds_not_dropped():
    scenario = cxsim.load_scenario(FLAGSHIP).with_overrides({"horizon_months": 36})
    result = compare([scenario, scenario], names=["a", "b"], draws=200, seed=4)
    payback = result.results[0].outcomes["payback_months"]
    assert payback.isna().mean() > 0.5  # most draws have not paid back by month 36
    assert result.table.loc["Payback (months)", "a"] == payback.fillna(36).mean()
    assert np.isnan(result.table.loc["Payback (months)", "b − a"])
    text = result.to_text()
    assert "≥ " in next(line for line in text.splitlines() if line.startswith("Payback"))
    assert "P(payback within 36 months)" in text
    assert result.beats.loc["b", "p_beats_reference"] == 0.0


def test_a_cheaper_plan_beats_in_every_draw():
    scenario = cxsim.load_scenario(FLAGSHIP)
    cheaper = scenario.with_overrides({"work_groups.branch.cost.monthly": 10000})
    result = compare([scenario, cheaper], names=["plan", "cheaper"], draws=200, seed=4)
    saving = result.table.loc["PV of programme cost", "cheaper − plan"]
    assert saving < 0
    assert result.table.loc["NPV", "cheaper − plan"] == pytest.approx(-saving, rel=1e-9)
    assert result.beats.loc["cheaper", "p_beats_reference"] == 1.0
    assert "P(beats the first plan)" in result.to_text()


def test_cli_compare_sensitivity_breakeven(capsys, tmp_path):
    assert main(["compare", str(FLAGSHIP), str(FLAGSHIP), "--draws", "50"]) == 0
    assert "P(NPV > 0)" in capsys.readouterr().out
    png = tmp_path / "t.png"
    assert main(["sensitivity", str(FLAGSHIP), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "share-of-wallet gain at full closure" in out and png.stat().st_size > 0
    assert "0.94%" in out  # a share prints as a percentage, never as 0
    assert main(["sensitivity", str(FLAGSHIP), "--swing", "0.1", "--inputs", "discount_rate"]) == 0
    out = capsys.readouterr().out
    assert "discount rate (annual)" in out and "8.10%" in out and "9.90%" in out
    assert main(["sensitivity", str(FLAGSHIP), "--swing", "2"]) == 1
    assert "swing must be a share between 0 and 1" in capsys.readouterr().err
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
    assert main(["compare", str(FLAGSHIP)]) == 2  # a usage error: one plan


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
        "--set: segments.core.arpu: out of range (got -5; allowed [0, 1e+15])"
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
    with pytest.raises(SystemExit) as info:  # a usage error, as argparse's own
        main(["run", minimal, "--set", "novalue"])
    assert info.value.code == 2
    assert "expected PATH=VALUE" in capsys.readouterr().err


def test_set_values_are_read_as_scenario_files_are(capsys):
    """--set values follow the files' YAML rules: 1e5 is a number, nesting is bounded."""
    minimal = str(TEST_SCENARIOS / "minimal.yaml")
    assert main(["run", minimal, "--draws", "5", "--set", "segments.core.arpu=1e2"]) == 0
    capsys.readouterr()
    deep = "[" * 3000
    assert main(["run", minimal, "--set", f"segments.core.arpu={deep}"]) == 1
    err = capsys.readouterr().err
    assert "--set: segments.core.arpu: value is not valid YAML: nested more than 100 deep" in err
    assert "Traceback" not in err and len(err) < 1000


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


# -- variants and the printed table ---------------------------------------------------------


def test_a_variant_is_the_first_file_with_its_overrides():
    """Its NPV is the one the same change gives through --set (another route to it)."""
    args = build_parser().parse_args(
        [
            "compare",
            str(MINIMAL),
            "--variant",
            "Faster support",
            "work_groups.support.plan.ramp_months=3",
            "responses.wallet_gain=0.08",
            "--variant",
            "Dearer support",
            "work_groups.support.cost={one_time: 90000, monthly: 6000}",
        ]
    )
    scenarios, names = compare_plans(args)
    assert names == ["Minimal", "Faster support", "Dearer support"]
    faster = scenarios[1]
    assert faster.work_groups["support"].plan.ramp_months == 3
    assert faster.responses.wallet_gain == 0.08
    assert scenarios[2].work_groups["support"].cost.monthly == 6000
    result = compare(scenarios, names=names, draws=30, seed=2)
    by_set = load_scenario_with_sets(
        MINIMAL,
        ["work_groups.support.plan.ramp_months=3", "responses.wallet_gain=0.08"],
    )
    npv = cxsim.simulate(by_set, draws=30, seed=2).outcomes["npv"].mean()
    assert result.table.loc["NPV", "Faster support"] == npv
    assert result.table.loc["NPV", "Faster support"] != result.table.loc["NPV", "Minimal"]


def test_cli_compare_prints_a_variant_under_its_name(capsys):
    by_set = load_scenario_with_sets(MINIMAL, ["work_groups.support.plan.ramp_months=3"])
    npv = cxsim.simulate(by_set, draws=30, seed=2).outcomes["npv"].mean()
    argv = ["compare", str(MINIMAL), "--variant", "Faster support"]
    argv += ["work_groups.support.plan.ramp_months=3", "--draws", "30", "--seed", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    heading, npv_line = next(
        (lines[i - 1], lines[i])
        for lines in [out.splitlines()]
        for i, line in enumerate(lines)
        if line.startswith("NPV")
    )
    assert heading.split() == ["Minimal", "Faster", "support"]
    assert npv_line.split()[-1] == format_value(npv, "money")


@pytest.mark.parametrize("plans", [2, 3, 4, 6])
def test_the_printed_comparison_fits_a_100_column_terminal(plans):
    base = cxsim.load_scenario(MINIMAL)
    scenarios = [
        base.with_overrides({"work_groups.support.plan.ramp_months": 3 + i}) for i in range(plans)
    ]
    names = [
        f"Plan {i}: support ramps over {3 + i} months, with a name far too long for one column "
        "of a table, even on four lines of twenty characters each, so it is cut short"
        for i in range(plans)
    ]
    text = compare(scenarios, names=names, draws=10, seed=1).to_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= WIDTH, "\n".join(lines)
    # the headings are cut short, so the names are listed in full first (wrapped)
    legend = " ".join(text.split("Plans in full")[1].split("\n\n")[0].split())
    assert all(name in legend for name in names), legend
    assert "P(beats the first plan)" in text


def test_cli_compare_of_long_names_fits_100_columns(capsys):
    """Sequence plans have long names and a mechanisms block; a variant joins them."""
    argv = ["compare", *(str(SCENARIOS / f"sequence_{n}.yaml") for n in ("voice_first",))]
    argv += [
        str(SCENARIOS / "sequence_all_at_once.yaml"),
        str(SCENARIOS / "sequence_branding_first.yaml"),
    ]
    argv += ["--variant", "Voice first, with a faster lending group and a long name"]
    argv += ["work_groups.lending.plan.ramp_months=6", "--draws", "10"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Operating-model mechanisms" in out
    assert max(len(line) for line in out.splitlines()) <= WIDTH, out


def test_an_unknown_variant_path_names_the_variant(capsys):
    argv = ["compare", str(MINIMAL), "--variant", "Faster", "work_groups.suport.plan.ramp_months=3"]
    assert main(argv) == 1
    assert capsys.readouterr().err == (
        "--variant 'Faster': work_groups.suport.plan.ramp_months: no key 'suport' at "
        "work_groups (did you mean 'support'?) (got 3; allowed support)\n"
    )
    argv[-1] = "work_groups.support.plan.ramp_monts=3"
    assert main(argv) == 1
    assert (
        "--variant 'Faster': work_groups.support.plan.ramp_monts: unknown key (did you mean "
        "'ramp_months'?)" in capsys.readouterr().err
    )
    argv[-1] = "work_groups.support.plan.ramp_months=-3"
    assert main(argv) == 1
    assert (
        "--variant 'Faster': work_groups.support.plan.ramp_months: out of range (got -3; "
        in capsys.readouterr().err
    )
    argv[-1] = "responses.churn_reduction={dist: pert"
    assert main(argv) == 1
    assert "--variant 'Faster': responses.churn_reduction: value is not valid YAML" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        (["Faster"], "--variant 'Faster': expected at least one PATH=VALUE after the name"),
        (["a.b=1"], "--variant: give the variant a name before its PATH=VALUE (got 'a.b=1')"),
        (["Faster", "x=1", "other.yaml"], "expected PATH=VALUE, got 'other.yaml'"),
    ],
)
def test_a_malformed_variant_is_a_usage_error(variant, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["compare", str(MINIMAL), "--variant", *variant])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_plans_are_labelled_by_scenario_name_and_names_must_differ():
    args = build_parser().parse_args(["compare", str(FLAGSHIP), str(FLAGSHIP)])
    _, names = compare_plans(args)
    assert names == ["Retail bank CX programme", "Retail bank CX programme"]
    scenario = cxsim.load_scenario(MINIMAL)
    result = compare([scenario, scenario], draws=2, seed=1)
    assert result.names == ["Minimal", "Minimal (2)"]
    with pytest.raises(CxsimError, match="names: expected 2 different names"):
        compare([scenario, scenario], names=["a", "a"], draws=2)
