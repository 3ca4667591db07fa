"""The Excel workbook: sheets, figures recomputed from the result's arrays, formats, errors."""

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
    header = _row(ws, "Measure")
    return ws.cell(_row(ws, label), _col(ws, header, column))


def test_sheet_names(tmp_path, uncertain):
    book = _open(uncertain, tmp_path / "case.xlsx")
    assert book.sheetnames == list(SHEETS)
    assert "Sensitivity" not in book.sheetnames


def test_sensitivity_and_extra_sheets_when_given(tmp_path, uncertain):
    waterfall = pd.DataFrame({"step": ["retention", "cost to serve"], "value": [2.5e6, -4e5]})
    book = _open(
        uncertain,
        tmp_path / "case.xlsx",
        sensitivity=SENSITIVITY,
        extra_sheets={"NPV waterfall": waterfall},
    )
    assert book.sheetnames == [*SHEETS, "Sensitivity", "NPV waterfall"]
    ws = book["Sensitivity"]
    assert [c.value for c in ws[1]] == list(SENSITIVITY.columns)
    swing = ws.cell(_row(ws, "responses.churn_reduction"), _col(ws, 1, "swing"))
    assert swing.value == pytest.approx(420_000.0)
    assert swing.number_format == MONEY
    assert ws.cell(2, _col(ws, 1, "npv_low")).number_format == MONEY
    assert ws.cell(2, _col(ws, 1, "low")).number_format != MONEY
    assert book["NPV waterfall"].cell(3, 2).value == pytest.approx(-4e5)


@pytest.mark.parametrize("name", ["Summary", "bad/name", "x" * 32, ""])
def test_unusable_extra_sheet_names_are_refused(tmp_path, point, name):
    with pytest.raises(CxsimError, match="sheet name"):
        write_workbook(point, tmp_path / "case.xlsx", extra_sheets={name: SENSITIVITY})
    assert not list(tmp_path.iterdir())


def test_summary_npv_many_draws_is_the_mean(tmp_path, uncertain):
    ws = _open(uncertain, tmp_path / "case.xlsx")["Summary"]
    npv = _summary_cell(ws, "NPV", "Mean")
    expected = uncertain.summary().value("NPV")
    assert npv.value == pytest.approx(expected, rel=1e-6)
    assert npv.value == pytest.approx(uncertain.outcomes["npv"].mean(), rel=1e-6)
    assert npv.number_format == MONEY
    p95 = _summary_cell(ws, "NPV", "P95")
    assert p95.value == pytest.approx(np.quantile(uncertain.outcomes["npv"], 0.95), rel=1e-6)
    assert ws.cell(_row(ws, "Draws"), 2).value == 100
    assert ws.cell(_row(ws, "Seed"), 2).value == 3


def test_summary_npv_one_draw_is_the_value(tmp_path, point):
    ws = _open(point, tmp_path / "case.xlsx")["Summary"]
    npv = _summary_cell(ws, "NPV", "Value")
    assert npv.value == pytest.approx(point.summary().value("NPV"), rel=1e-6)
    assert npv.number_format == MONEY


def test_summary_formats_follow_the_unit(tmp_path, uncertain):
    ws = _open(uncertain, tmp_path / "case.xlsx")["Summary"]
    assert _summary_cell(ws, "ROI", "Mean").number_format == "0.0%"
    assert _summary_cell(ws, "P(NPV > 0)", "Mean").number_format == "0.0%"
    assert _summary_cell(ws, "Payback (months)", "P50").number_format == "0"
    assert _summary_cell(ws, "NPS change at horizon (points)", "Mean").number_format == (
        "+0.0;-0.0"
    )
    header = _row(ws, "Measure")
    assert all(cell.font.bold for cell in ws[header] if cell.value)
    assert ws.freeze_panes == ws.cell(header + 1, 2).coordinate


def test_undefined_irr_is_na_never_nan(tmp_path, no_irr):
    book = _open(no_irr, tmp_path / "case.xlsx")
    ws = book["Summary"]
    assert _summary_cell(ws, "IRR (annual)", "Value").value == "n/a"
    assert _summary_cell(ws, "Payback (months)", "Value").value == "n/a"
    notes = [c.value for c in ws["A"] if isinstance(c.value, str)]
    assert any(note.startswith("IRR (annual): n/a") for note in notes)
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                assert not (isinstance(cell.value, float) and math.isnan(cell.value)), (
                    f"NaN in {sheet.title}!{cell.coordinate}"
                )


def test_yearly_cash_flow_matches_the_monthly_arrays(tmp_path, uncertain):
    ws = _open(uncertain, tmp_path / "case.xlsx")["Cash flow (yearly)"]
    cash = uncertain.incremental_cash_flow  # (draw, month)
    year2 = ws.cell(_row(ws, "Incremental cash flow", "mean"), _col(ws, 1, "Year 2"))
    assert year2.value == pytest.approx(cash[:, 12:24].sum(axis=1).mean(), rel=1e-9)
    assert year2.number_format == MONEY
    # A 30-month horizon ends in a half year, labelled as such.
    cost = ws.cell(_row(ws, "Programme cost", "p95"), _col(ws, 1, "Year 3 (6 months)"))
    expected = np.quantile(uncertain.programme_cost[:, 24:30].sum(axis=1), 0.95)
    assert cost.value == pytest.approx(expected, rel=1e-9)
    cumulative = ws.cell(_row(ws, "Cumulative cash flow", "p50"), _col(ws, 1, "Year 2"))
    assert cumulative.value == pytest.approx(np.median(cash[:, :24].sum(axis=1)), rel=1e-9)
    assert ws.freeze_panes == "C2"


def test_yearly_lagging_is_the_last_month_of_each_year(tmp_path, uncertain):
    ws = _open(uncertain, tmp_path / "case.xlsx")["Lagging (yearly)"]
    churn = uncertain.metric("churn", "all")  # (arm, draw, month)
    programme = ws.cell(_row(ws, "all", "churn", "programme"), _col(ws, 1, "Year 1"))
    assert programme.value == pytest.approx(churn[0, :, 11].mean(), rel=1e-9)
    assert programme.number_format.endswith("%")
    clv = uncertain.metric("clv", "core")
    change = ws.cell(_row(ws, "core", "clv", "change"), _col(ws, 1, "Year 3 (6 months)"))
    assert change.value == pytest.approx((clv[0, :, 29] - clv[1, :, 29]).mean(), rel=1e-9)
    assert change.number_format == MONEY


def test_assumptions_show_distributions_and_correlations(tmp_path, uncertain):
    ws = _open(uncertain, tmp_path / "case.xlsx")["Assumptions"]
    dist = next(
        item.value
        for item in uncertain.scenario.inputs()
        if item.path == "responses.churn_reduction"
    )
    row = _row(ws, "responses.churn_reduction")
    assert ws.cell(row, _col(ws, 1, "Kind")).value == "pert"
    assert ws.cell(row, _col(ws, 1, "P50")).value == pytest.approx(dist.quantile(0.5), rel=1e-12)
    assert ws.cell(row, _col(ws, 1, "Value or mean")).value == pytest.approx(dist.mean())
    assert ws.cell(row, _col(ws, 1, "Distribution")).value == dist.describe()
    fixed = _row(ws, "segments.core.arpu")
    assert ws.cell(fixed, 2).value == "fixed"
    assert ws.cell(fixed, 3).value == pytest.approx(40.0)
    assert ws.max_row >= len(uncertain.scenario.inputs()) + 1
    corr = _row(ws, "responses.churn_reduction", "work_groups.support.cost.one_time")
    assert ws.cell(corr, 3).value == pytest.approx(-0.4)


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
