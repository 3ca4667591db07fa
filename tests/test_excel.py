"""The Excel workbook's structure: sheets, figures recomputed from the result, formats by unit,
print setup, provenance and errors (recalculation by a spreadsheet engine: test_workbook_recalc)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import cxsim
from cxsim.errors import CxsimError
from cxsim.outputs.excel import MONEY, SHEETS, write_workbook
from cxsim.outputs.excel.cells import MONEY_CENTS
from tests.conftest import TEST_SCENARIOS

MINIMAL = TEST_SCENARIOS / "minimal.yaml"
RESPONSES = (
    "churn_reduction",
    "wallet_gain",
    "promoter_gain",
    "detractor_reduction",
    "avoidable_contacts",
)
CHURN = {"dist": "pert", "min": 0.1, "mode": 0.3, "max": 0.45}
ONE_TIME = {"dist": "triangular", "min": 40_000.0, "mode": 60_000.0, "max": 90_000.0}
SENSITIVITY = pd.DataFrame(
    {
        "input": ["responses.churn_reduction", "work_groups.support.cost.one_time"],
        "low": [0.1, 40_000.0],
        "high": [0.45, 90_000.0],
        "npv_low": [-120_000.0, 20_000.0],
        "npv_high": [300_000.0, 60_000.0],
        "swing": [420_000.0, 40_000.0],
    }
)


@pytest.fixture(scope="module")
def uncertain() -> cxsim.SimulationResult:
    """Many draws of a scenario with two uncertain inputs, correlated, over 30 months."""
    scenario = cxsim.load_scenario(MINIMAL).with_overrides(
        {
            "horizon_months": 30,
            "responses.churn_reduction": CHURN,
            "work_groups.support.cost.one_time": ONE_TIME,
            "correlations": [
                {
                    "between": ["responses.churn_reduction", "work_groups.support.cost.one_time"],
                    "rho": -0.4,
                }
            ],
        }
    )
    return cxsim.simulate(scenario, draws=100, seed=3)


@pytest.fixture(scope="module")
def point() -> cxsim.SimulationResult:
    return cxsim.simulate(MINIMAL, draws=1, seed=1)


@pytest.fixture(scope="module")
def no_irr() -> cxsim.SimulationResult:
    """No response at all: the programme only costs, so cash never turns positive."""
    scenario = cxsim.load_scenario(MINIMAL).with_overrides(
        {f"responses.{key}": 0.0 for key in RESPONSES}
    )
    return cxsim.simulate(scenario, draws=1, seed=1)


def _open(result: cxsim.SimulationResult, path: Path, **kwargs) -> openpyxl.Workbook:
    written = write_workbook(result, path, **kwargs)
    assert written == path
    return openpyxl.load_workbook(path)


def _row(ws, *labels: str) -> int:
    """The first row whose leading cells are ``labels``."""
    for row in ws.iter_rows():
        if tuple(c.value for c in row[: len(labels)]) == labels:
            return row[0].row
    raise AssertionError(f"no row {labels} in sheet {ws.title!r}")


def _col(ws, header_row: int, label: str) -> int:
    for cell in ws[header_row]:
        if cell.value == label:
            return cell.column
    raise AssertionError(f"no column {label!r} in row {header_row} of {ws.title!r}")


def _summary_cell(ws, label: str, column: str):
    header = next(r[0].row for r in ws.iter_rows() if str(r[0].value).startswith("Over "))
    row = next(r[0].row for r in ws.iter_rows(min_row=header) if r[0].value == label)
    return ws.cell(row, _col(ws, header, column))


def test_sheet_names(tmp_path, uncertain):
    book = _open(uncertain, tmp_path / "case.xlsx")
    assert book.sheetnames == list(SHEETS)
    assert "Sensitivity" not in book.sheetnames


def test_sensitivity_and_extra_sheets_when_given(tmp_path, uncertain):
    table = pd.DataFrame({"step": ["retention", "cost to serve"], "value": [2.5e6, -4e5]})
    book = _open(
        uncertain,
        tmp_path / "case.xlsx",
        sensitivity=SENSITIVITY,
        extra_sheets={"NPV steps": table},
    )
    assert book.sheetnames == [*SHEETS[:-1], "Sensitivity", "NPV steps", SHEETS[-1]]
    ws = book["Sensitivity"]
    header = _row(ws, "Input")
    churn = _row(ws, "churn reduction at full closure")
    assert ws.cell(churn, _col(ws, header, "Unit")).value == "share"
    low = ws.cell(churn, _col(ws, header, "low"))
    assert low.value == pytest.approx(0.1) and low.number_format.endswith("%")
    cost = _row(ws, "one-time cost (support)")
    assert ws.cell(cost, _col(ws, header, "low")).number_format == MONEY
    swing = ws.cell(churn, _col(ws, header, "swing"))
    assert swing.value == pytest.approx(420_000.0) and swing.number_format == MONEY
    assert book["NPV steps"].cell(3, 2).value == pytest.approx(-4e5)


@pytest.mark.parametrize("name", ["Summary", "bad/name", "x" * 32, ""])
def test_unusable_extra_sheet_names_are_refused(tmp_path, point, name):
    with pytest.raises(CxsimError, match="sheet name"):
        write_workbook(point, tmp_path / "case.xlsx", extra_sheets={name: SENSITIVITY})
    assert not list(tmp_path.iterdir())


def test_summary_npv_many_draws_is_the_mean_with_its_error(tmp_path, uncertain):
    ws = _open(uncertain, tmp_path / "case.xlsx")["Summary"]
    npv = _summary_cell(ws, "NPV", "Mean")
    assert npv.value == pytest.approx(uncertain.outcomes["npv"].mean(), rel=1e-12)
    assert npv.number_format == MONEY
    error = ws.cell(npv.row, npv.column + 1)
    assert error.value == pytest.approx(uncertain.mc_error("npv", "mean"), rel=1e-12)
    p95 = _summary_cell(ws, "NPV", "P95")
    assert p95.value == pytest.approx(np.quantile(uncertain.outcomes["npv"], 0.95), rel=1e-12)
    subtitle = ws.cell(2, 1).value
    assert "seed 3" in subtitle and "100 draws" in subtitle and "cxsim" in subtitle


def test_summary_npv_one_draw_is_the_value(tmp_path, point):
    ws = _open(point, tmp_path / "case.xlsx")["Summary"]
    npv = _summary_cell(ws, "NPV", "Value")
    assert npv.value == pytest.approx(point.summary().value("NPV"), rel=1e-12)
    assert npv.number_format == MONEY


def test_summary_formats_follow_the_unit(tmp_path, uncertain):
    ws = _open(uncertain, tmp_path / "case.xlsx")["Summary"]
    assert _summary_cell(ws, "ROI", "Mean").number_format == "0.0%"
    assert _summary_cell(ws, "P(NPV > 0)", "Mean").number_format == "0.0%"
    nps = _summary_cell(ws, "NPS change at horizon (points)", "Mean")
    assert nps.number_format == "+0.0;-0.0"
    # A change in a rate is in percentage points: 0.0105 is "+1.05 pt", never "+1.05%".
    retention = _summary_cell(ws, "12-month retention change at horizon", "Mean")
    expected = uncertain.outcomes["retention_12m_change"].mean()
    assert retention.value == pytest.approx(100 * expected, rel=1e-12)
    assert '" pt"' in retention.number_format and "%" not in retention.number_format


def test_live_results_are_named_formulas(tmp_path, uncertain):
    book = _open(uncertain, tmp_path / "case.xlsx")
    for name in ("npv", "pv_benefit", "pv_cost", "roi", "irr", "payback_month"):
        (sheet, coordinate), *_ = book.defined_names[name].destinations
        assert str(book[sheet][coordinate.replace("$", "")].value).startswith("="), name
    (sheet, coordinate), *_ = book.defined_names["discount_rate"].destinations
    rate = book[sheet][coordinate.replace("$", "")]
    assert sheet == "Assumptions" and rate.value == pytest.approx(0.08)
    assert rate.fill.fgColor.rgb.endswith("FFF2CC")  # marked as an input


def test_undefined_irr_is_na_never_nan(tmp_path, no_irr):
    book = _open(no_irr, tmp_path / "case.xlsx")
    ws = book["Summary"]
    assert _summary_cell(ws, "IRR (annual)", "Value").value == "n/a"
    # Never paid back within the horizon: censored, not missing.
    assert _summary_cell(ws, "Payback (months)", "Value").value == f"> {no_irr.horizon}"
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                assert not (isinstance(cell.value, float) and math.isnan(cell.value)), (
                    f"NaN in {sheet.title}!{cell.coordinate}"
                )


def test_monthly_lines_are_the_means_and_totals_are_formulas(tmp_path, uncertain):
    ws = _open(uncertain, tmp_path / "case.xlsx")["Cash flow (monthly)"]
    header = _row(ws, "Month")
    retention = _col(ws, header, "Benefit: Retention")
    line = uncertain.lever_profit[:, 0].mean(axis=0)
    values = [ws.cell(header + 1 + t, retention).value for t in range(uncertain.horizon)]
    np.testing.assert_allclose(values, line, rtol=1e-12)
    running = _col(ws, header, "Cost: support (work group), running")
    cost = uncertain.item_cost("support", "running").mean(axis=0)
    np.testing.assert_allclose(
        [ws.cell(header + 1 + t, running).value for t in range(uncertain.horizon)], cost
    )
    for label in ("Discount factor", "Benefit total", "Cost total", "Net cash flow"):
        assert str(ws.cell(header + 1, _col(ws, header, label)).value).startswith("="), label
    assert ws.print_title_rows == f"${header}:${header}"


def test_yearly_sums_are_formulas_labelled_as_sums(tmp_path, uncertain):
    ws = _open(uncertain, tmp_path / "case.xlsx")["Cash flow (yearly)"]
    header = _row(ws, "Line (annual sum)")
    labels = [c.value for c in ws[header]]
    assert labels[1:4] == ["Year 1", "Year 2", "Year 3 (6 months)"] and labels[-1] == "Total"
    net = _row(ws, "Net cash flow")
    assert str(ws.cell(net, 2).value).startswith("=SUMIF(")
    assert ws.cell(net, 2).number_format == MONEY


def test_yearly_lagging_reads_levels_at_year_end_and_sums_flows(tmp_path, uncertain):
    ws = _open(uncertain, tmp_path / "case.xlsx")["Lagging (yearly)"]
    header = _row(ws, "Segment")
    year1 = _col(ws, header, "Year 1")
    churn = uncertain.metric("churn", "all")  # (arm, draw, month)
    row = _row(ws, "all", "monthly churn", "end of year", "programme")
    assert ws.cell(row, year1).value == pytest.approx(churn[0, :, 11].mean(), rel=1e-9)
    change = _row(ws, "all", "monthly churn", "end of year", "change")
    expected = 100 * (churn[0, :, 11] - churn[1, :, 11]).mean()
    assert ws.cell(change, year1).value == pytest.approx(expected, rel=1e-9)
    assert '" pt"' in ws.cell(change, year1).number_format
    revenue = uncertain.metric("revenue", "core")
    row = _row(ws, "core", "revenue", "annual sum", "programme")
    expected = revenue[0, :, 12:24].sum(axis=1).mean()
    assert ws.cell(row, year1 + 1).value == pytest.approx(expected, rel=1e-9)


def test_assumptions_show_units_distributions_and_correlations(tmp_path, uncertain):
    ws = _open(uncertain, tmp_path / "case.xlsx")["Assumptions"]
    header = _row(ws, "Input")
    dist = next(
        item.value
        for item in uncertain.scenario.inputs()
        if item.path == "responses.churn_reduction"
    )
    row = _row(ws, "churn reduction at full closure", "responses.churn_reduction")
    assert ws.cell(row, _col(ws, header, "P50")).value == pytest.approx(dist.quantile(0.5))
    assert ws.cell(row, _col(ws, header, "P50")).number_format.endswith("%")
    assert ws.cell(row, _col(ws, header, "Kind")).value == dist.describe()
    arpu = _row(ws, "ARPU, per customer per month (core)")
    assert ws.cell(arpu, _col(ws, header, "Value or mean")).number_format == MONEY_CENTS
    assert ws.cell(arpu, _col(ws, header, "Unit")).value == "money"
    corr = _row(ws, "responses.churn_reduction", "work_groups.support.cost.one_time")
    assert ws.cell(corr, 3).value == pytest.approx(-0.4)


def test_every_sheet_prints_landscape_to_the_page_width(tmp_path, uncertain):
    book = _open(uncertain, tmp_path / "case.xlsx", sensitivity=SENSITIVITY)
    for ws in book:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth in (1, None), ws.title  # 1 is openpyxl's default
    assert book["Summary"].page_setup.fitToHeight == 1


def test_provenance_sheet(tmp_path):
    scenario = cxsim.load_scenario(MINIMAL).with_overrides(
        {"segments.core.arpu": 45.0}, source="--set"
    )
    result = cxsim.simulate(scenario, draws=5, seed=9)
    ws = _open(result, tmp_path / "case.xlsx")["Provenance"]
    rows = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(1, ws.max_row + 1)}
    assert rows["Seed"] == "9" and rows["Draws"] == "5"
    assert rows["Override"] == "segments.core.arpu = 45.0 (--set)"
    digest = rows[f"SHA-256 of {scenario.source}"]
    import hashlib

    assert digest == hashlib.sha256(MINIMAL.read_bytes()).hexdigest()


def test_path_must_end_in_xlsx(tmp_path, point):
    with pytest.raises(CxsimError, match=r"must end in \.xlsx"):
        write_workbook(point, tmp_path / "case.csv")
    assert not list(tmp_path.iterdir())


def test_folder_must_exist(tmp_path, point):
    with pytest.raises(CxsimError, match="does not exist"):
        write_workbook(point, tmp_path / "missing" / "case.xlsx")


def test_path_must_not_be_a_folder(tmp_path, point):
    (tmp_path / "case.xlsx").mkdir()
    with pytest.raises(CxsimError, match="is a folder"):
        write_workbook(point, tmp_path / "case.xlsx")


def test_failed_write_keeps_the_old_workbook(tmp_path, point, monkeypatch):
    target = tmp_path / "case.xlsx"
    target.write_bytes(b"old")

    def fail(self, filename):
        Path(filename).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(openpyxl.Workbook, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        write_workbook(point, target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["case.xlsx"]


def test_rewrite_replaces_the_workbook(tmp_path, point):
    target = tmp_path / "case.xlsx"
    target.write_bytes(b"old")
    write_workbook(point, str(target))
    assert openpyxl.load_workbook(target).sheetnames == list(SHEETS)
    assert [p.name for p in tmp_path.iterdir()] == ["case.xlsx"]


def test_cli_xlsx_needs_force_to_replace_and_refuses_a_folder(tmp_path, capsys):
    from cxsim.cli import main

    target = tmp_path / "case.xlsx"
    assert main(["run", str(MINIMAL), "--seed", "1", "--quiet", "--xlsx", str(target)]) == 0
    assert main(["run", str(MINIMAL), "--seed", "1", "--quiet", "--xlsx", str(target)]) == 1
    assert "file exists; use --force" in capsys.readouterr().err
    assert main(["run", str(MINIMAL), "--quiet", "--xlsx", str(target), "--force"]) == 0
    (tmp_path / "dir.xlsx").mkdir()
    assert main(["run", str(MINIMAL), "--quiet", "--xlsx", str(tmp_path / "dir.xlsx")]) == 1
    assert "is a folder" in capsys.readouterr().err


def test_waterfall_sheet_shows_shapley_beside_if_dropped(tmp_path, uncertain):
    values = cxsim.group_values(uncertain.scenario, draws=40, seed=1)
    lever = cxsim.waterfall_by_lever(uncertain.scenario, draws=40, seed=1)
    ws = _open(uncertain, tmp_path / "case.xlsx", waterfall=lever, group_values=values)["Waterfall"]
    header = _row(ws, "Work group or capability")
    row = _row(ws, "support")
    assert ws.cell(row, _col(ws, header, "Shapley value")).value == pytest.approx(
        values.loc["support", "shapley"]
    )
    dropped = ws.cell(row, _col(ws, header, "NPV lost if dropped (with what requires it)"))
    assert dropped.value == pytest.approx(values.loc["support", "if_dropped"])
    assert dropped.number_format == MONEY
    levers = _row(ws, "Money lever")
    retention = _row(ws, "Retention")
    assert str(ws.cell(retention, 2).value).startswith("=SUMPRODUCT(")
    shapley = ws.cell(retention, _col(ws, levers, "Shapley value")).value
    assert shapley == pytest.approx(lever["value"].iloc[0])
    assert any("Why Shapley and if dropped differ" == c.value for c in ws["A"])
