"""The workbook recalculated by a real spreadsheet engine (LibreOffice, headless) agrees with
cxsim: the live results, the annual sums, and a changed discount rate re-pricing the case.

LibreOffice is installed by .ci/run, which sets CXSIM_REQUIRE_LIBREOFFICE=1 so these tests
cannot skip there; elsewhere they skip when ``soffice`` is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import numpy as np
import openpyxl
import pytest

import cxsim
from cxsim.model.finance import irr, payback_month
from cxsim.outputs.excel.model import expected_net
from tests.conftest import FLAGSHIP, SCENARIOS

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
if SOFFICE is None:
    if os.environ.get("CXSIM_REQUIRE_LIBREOFFICE"):
        raise RuntimeError("LibreOffice (soffice) is required here but not installed")
    pytest.skip("LibreOffice (soffice) is not installed", allow_module_level=True)

ERRORS = ("#VALUE!", "#NAME?", "#REF!", "#DIV/0!", "#N/A", "#NUM!", "Err:")


def recalculate(path: Path) -> openpyxl.Workbook:
    """The workbook as LibreOffice computes it (values only)."""
    out = path.parent / f"recalculated-{uuid.uuid4().hex[:6]}"
    profile = path.parent / f"lo-profile-{uuid.uuid4().hex[:6]}"
    subprocess.run(
        [
            str(SOFFICE),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--calc",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return openpyxl.load_workbook(out / path.name, data_only=True)


def named(book: openpyxl.Workbook, name: str):
    (sheet, coordinate), *_ = book.defined_names[name].destinations
    return book[sheet][coordinate.replace("$", "")].value


@pytest.fixture(scope="module")
def flagship_case(tmp_path_factory):
    result = cxsim.simulate(FLAGSHIP, draws=400, seed=5)
    path = tmp_path_factory.mktemp("book") / "case.xlsx"
    result.to_excel(path, sensitivity=cxsim.tornado(result.scenario))
    return result, path, recalculate(path)


def test_the_live_results_equal_cxsims(flagship_case):
    result, _, book = flagship_case
    npv, pv_benefit, pv_cost = (part.mean() for part in result.npv_parts)
    assert named(book, "npv") == pytest.approx(npv, rel=1e-9)
    assert named(book, "pv_benefit") == pytest.approx(pv_benefit, rel=1e-9)
    assert named(book, "pv_cost") == pytest.approx(pv_cost, rel=1e-9)
    assert named(book, "roi") == pytest.approx((pv_benefit - pv_cost) / pv_cost, rel=1e-9)
    net = expected_net(result)[None]
    assert named(book, "irr") == pytest.approx(irr(net)[0], rel=1e-6)
    assert named(book, "payback_month") == payback_month(net)[0]
    assert named(book, "discount_rate") == pytest.approx(0.09)


def test_no_cell_is_an_error(flagship_case):
    _, _, book = flagship_case
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(ERRORS), f"{sheet.title}!{cell.coordinate}"


def test_annual_sums_add_the_months(flagship_case):
    result, _, book = flagship_case
    ws = book["Cash flow (yearly)"]
    rows = {row[0].value: row for row in ws.iter_rows() if row[0].value}
    cash = result.yearly("incremental_cash_flow").mean(axis=0)
    net = [cell.value for cell in rows["Net cash flow"][1:6]]
    np.testing.assert_allclose(net, cash, rtol=1e-9)
    for lever in ("retention", "share_of_wallet"):
        line = result.yearly(f"benefit_{lever}").mean(axis=0)
        label = "Benefit: " + lever.replace("_", " ").capitalize()
        np.testing.assert_allclose([c.value for c in rows[label][1:6]], line, rtol=1e-9)


def test_changing_the_discount_rate_reprices_the_case(flagship_case, tmp_path):
    result, path, _ = flagship_case
    book = openpyxl.load_workbook(path)
    (sheet, coordinate), *_ = book.defined_names["discount_rate"].destinations
    book[sheet][coordinate.replace("$", "")].value = 0.05
    changed = tmp_path / "changed.xlsx"
    book.save(changed)
    repriced = recalculate(changed)
    at_five = cxsim.simulate(
        result.scenario.with_overrides({"discount_rate": 0.05}), draws=400, seed=5
    )
    assert named(repriced, "npv") == pytest.approx(at_five.outcomes["npv"].mean(), rel=1e-9)
    assert named(repriced, "pv_cost") == pytest.approx(at_five.npv_parts[2].mean(), rel=1e-9)


def test_a_streamed_run_with_capabilities_recalculates_too(tmp_path):
    """A summary result (no per-draw arrays) and cost lines for capabilities."""
    scenario = cxsim.load_scenario(SCENARIOS / "sequence_all_at_once.yaml")
    result = cxsim.simulate(scenario, draws=1500, seed=2, keep="summary")
    path = tmp_path / "streamed.xlsx"
    result.to_excel(path)
    book = recalculate(path)
    assert named(book, "npv") == pytest.approx(result.outcomes["npv"].mean(), rel=1e-9)
    assert named(book, "pv_cost") == pytest.approx(result.outcomes["pv_cost"].mean(), rel=1e-9)


def pages(path: Path) -> int:
    """Pages of the workbook printed to PDF by LibreOffice, with each sheet's print setup."""
    out = path.parent / f"pdf-{uuid.uuid4().hex[:6]}"
    profile = path.parent / f"lo-profile-{uuid.uuid4().hex[:6]}"
    subprocess.run(
        [str(SOFFICE), f"-env:UserInstallation={profile.as_uri()}", "--headless"]
        + ["--convert-to", "pdf", "--outdir", str(out), str(path)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    data = (out / f"{path.stem}.pdf").read_bytes()
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


def test_it_prints_compactly_with_the_summary_on_one_page(flagship_case, tmp_path):
    _, path, _ = flagship_case
    assert pages(path) <= 16  # 26 pages before print setup
    book = openpyxl.load_workbook(path)
    for name in book.sheetnames[1:]:
        del book[name]
    summary = tmp_path / "summary.xlsx"
    book.save(summary)
    assert pages(summary) == 1
