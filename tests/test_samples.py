"""Joint draws from tables (``samples:``): rows picked uniformly and reproducibly, a table's
columns kept together, pinned like any input, seen by every analysis as uncertain inputs,
every problem located, through extends and include, and the tables' SHA-256 in provenance.

The broken files (one per kind of problem) are in tests/scenarios/bad/samples_*.yaml, checked
with the others by tests/test_scenario.py.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import yaml

import cxsim
from cxsim.uncertainty.samples import Empirical, pick_rows, read_table
from cxsim.uncertainty.sampling import draw_inputs
from cxsim.uncertainty.streams import stream_id, uniforms
from tests.conftest import TEST_SCENARIOS, minimal_mapping

SAMPLES = TEST_SCENARIOS / "samples"
BANK = SAMPLES / "bank.yaml"
VOC = SAMPLES / "calibration" / "voc_samples.csv"
PAIN = SAMPLES / "pain_samples.csv"
CR, WALLET = "responses.churn_reduction", "responses.wallet_gain"
SUPPORT, BILLING = "work_groups.support.pain_share.core", "work_groups.billing.pain_share.core"


def columns_of(path: Path) -> dict[str, np.ndarray]:
    """A CSV of numbers by column (comment lines skipped), read without cxsim."""
    lines = [line for line in path.read_text().splitlines() if line and line[0] != "#"]
    rows = np.array([[float(x) for x in line.split(",")] for line in lines[1:]])
    return {name: rows[:, i] for i, name in enumerate(lines[0].split(","))}


def write_csv(path: Path, header: list[str], rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n".join(",".join(f"{value:.6g}" for value in row) for row in rows)
    path.write_text(",".join(header) + "\n" + body + "\n")
    return path


def with_table(path: Path, columns: dict | None = None, **changes) -> dict:
    """The minimal scenario as a mapping, fed by the table at ``path`` (an absolute path)."""
    data = minimal_mapping()
    entry: dict = {"file": str(path)}
    if columns is not None:
        entry["columns"] = columns
    data["samples"] = [entry]
    data.update(changes)
    return data


def shown(path: Path) -> str:
    """A file as problems name it: relative to the working folder."""
    return os.path.relpath(path)


def problems_of(source) -> list[str]:
    with pytest.raises(cxsim.ScenarioError) as info:
        cxsim.load_scenario(source)
    return str(info.value).splitlines()


@pytest.fixture(scope="module")
def bank() -> cxsim.Scenario:
    return cxsim.load_scenario(BANK)


# -- what a table-fed input is -----------------------------------------------------------


def test_a_fed_input_is_an_uncertain_input_whose_distribution_is_its_column(bank):
    fed = {item.path: item.value for item in bank.table_inputs()}
    assert set(fed) == {SUPPORT, BILLING, CR, WALLET}
    assert set(fed) <= {item.path for item in bank.uncertain_inputs()}
    churn = fed[CR]
    column = columns_of(VOC)["cr"]
    assert isinstance(churn, Empirical) and bank.responses.churn_reduction is churn
    assert churn.point == 0.3 and bank.data["responses"]["churn_reduction"] == 0.3
    assert churn.mean() == pytest.approx(column.mean(), rel=1e-12)
    assert churn.support() == (column.min(), column.max())
    for q in (0.0, 0.1, 0.37, 0.5, 0.9, 1.0):
        assert churn.quantile(q) == np.quantile(column, q, method="inverted_cdf")
    assert churn.median() == churn.quantile(0.5)
    assert churn.describe() == "Table(voc_samples.csv: cr; 30 rows)"
    assert churn.to_dict()["rows"] == 30
    assert math.isnan(churn.ppf(np.array([1.5]))[0])


def test_rows_are_picked_uniformly():
    """A chi-square test of the rows picked; the same test rejects a slightly biased picker."""
    from scipy.stats import chi2

    n_rows, draws = 8, 40_000
    u = uniforms(11, stream_id("samples.t.csv"), 0, draws)
    rows = pick_rows(11, "samples.t.csv", n_rows, 0, draws)
    assert np.array_equal(rows, np.floor(u * n_rows).astype(int))

    def p_value(picked: np.ndarray) -> float:
        counts = np.bincount(picked, minlength=n_rows)
        expected = draws / n_rows
        return float(chi2.sf(((counts - expected) ** 2 / expected).sum(), n_rows - 1))

    assert p_value(rows) > 1e-3
    assert p_value(np.floor(u**1.05 * n_rows).astype(int)) < 1e-3


def test_rows_through_a_scenario_are_uniform(tmp_path):
    from scipy.stats import chi2

    values = np.arange(1, 11) / 100  # ten distinct rows
    path = write_csv(tmp_path / "cr.csv", [CR], values[:, None])
    scenario = cxsim.load_scenario(with_table(path))
    drawn = draw_inputs(scenario, 5, 0, 20_000)[CR]
    counts = np.array([(drawn == v).sum() for v in values])
    assert counts.sum() == 20_000
    statistic = ((counts - 2_000) ** 2 / 2_000).sum()
    assert chi2.sf(statistic, 9) > 1e-3


def test_every_draw_reads_one_row_of_each_table(bank):
    values = draw_inputs(bank, 5, 0, 3000)
    voc, pain = columns_of(VOC), columns_of(PAIN)
    rows = pick_rows(5, "samples.voc_samples.csv", 30, 0, 3000)
    assert np.array_equal(values[CR], voc["cr"][rows])
    assert np.array_equal(values[WALLET], voc["wallet"][rows])
    # Each draw's pair is a row of its table, never a mix of two rows.
    voc_rows = set(zip(voc["cr"], voc["wallet"], strict=True))
    assert set(zip(values[CR], values[WALLET], strict=True)) <= voc_rows
    pain_rows = set(zip(pain[SUPPORT], pain[BILLING], strict=True))
    assert set(zip(values[SUPPORT], values[BILLING], strict=True)) == pain_rows
    # So the table's correlation is kept, and the two tables are drawn independently.
    table_r = np.corrcoef(voc["cr"], voc["wallet"])[0, 1]
    assert abs(np.corrcoef(values[CR], values[WALLET])[0, 1] - table_r) < 0.05
    assert abs(np.corrcoef(values[CR], values[SUPPORT])[0, 1]) < 0.08


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_a_draws_rows_depend_only_on_the_seed_and_the_draw(bank, chunk):
    whole = draw_inputs(bank, 9, 0, 200)
    parts = [draw_inputs(bank, 9, a, min(a + chunk, 200)) for a in range(0, 200, chunk)]
    for path, column in whole.items():
        assert np.array_equal(column, np.concatenate([part[path] for part in parts])), path
    longer = draw_inputs(bank, 9, 0, 400)
    assert all(np.array_equal(longer[p][:200], whole[p]) for p in whole)
    assert not np.array_equal(draw_inputs(bank, 10, 0, 200)[CR], whole[CR])


def test_simulate_gives_the_same_numbers_in_any_chunks(bank):
    one = cxsim.simulate(bank, draws=24, seed=2, chunk_size=1, progress=False)
    all_at_once = cxsim.simulate(bank, draws=24, seed=2, chunk_size=24, progress=False)
    assert np.array_equal(one.outcomes["npv"].to_numpy(), all_at_once.outcomes["npv"].to_numpy())


def test_a_pickled_scenario_draws_the_same_rows(bank):
    again = pickle.loads(pickle.dumps(bank))
    first, second = draw_inputs(bank, 3, 0, 50), draw_inputs(again, 3, 0, 50)
    assert all(np.array_equal(first[p], second[p]) for p in first)


# -- pinning -------------------------------------------------------------------------------


def test_fixed_pins_a_column_and_the_table_is_still_read_for_the_others(bank):
    free = draw_inputs(bank, 4, 0, 500)
    pinned = draw_inputs(bank, 4, 0, 500, fixed={CR: 0.2})
    assert np.all(pinned[CR] == 0.2)
    assert np.array_equal(pinned[WALLET], free[WALLET])
    result = cxsim.simulate(bank, draws=20, seed=4, fixed={CR: 0.2}, progress=False)
    assert result.draws == 20


def test_an_override_takes_the_input_out_of_its_table(bank):
    pinned = bank.with_overrides({CR: 0.2})
    assert pinned.responses.churn_reduction == 0.2
    assert CR not in {item.path for item in pinned.table_inputs()}
    assert pinned.data["samples"][1]["columns"] == {"wallet": WALLET}
    assert any("voc_samples.csv no longer feeds it" in note for note in pinned.notes)
    before, after = draw_inputs(bank, 1, 0, 300), draw_inputs(pinned, 1, 0, 300)
    assert np.array_equal(before[WALLET], after[WALLET])
    # A table read whole gets an explicit mapping without the pinned column.
    other = bank.with_overrides({SUPPORT: 0.45})
    assert other.data["samples"][0]["columns"] == {BILLING: BILLING}
    assert np.array_equal(draw_inputs(other, 1, 0, 300)[BILLING], before[BILLING])
    # A distribution takes it out too; overriding samples itself is the user's to make.
    uniform = {"dist": "uniform", "min": 0.1, "max": 0.3}
    assert not isinstance(bank.with_overrides({CR: uniform}).responses.churn_reduction, Empirical)
    assert bank.with_overrides({"samples": []}).table_inputs() == []


def test_an_override_does_not_read_the_tables_again(bank, monkeypatch):
    import cxsim.scenario.feeds as feeds

    monkeypatch.setattr(feeds, "read_table", lambda *a: pytest.fail("read again"))
    assert bank.with_overrides({"segments.core.arpu": 41}).table_inputs()


# -- the analyses --------------------------------------------------------------------------


def test_tornado_and_breakeven_read_the_column(bank):
    table = cxsim.tornado(bank).set_index("input")
    churn = bank.responses.churn_reduction
    assert set(table.index) == {SUPPORT, BILLING, CR, WALLET}
    assert table.loc[CR, "low"] == churn.quantile(0.1)
    assert table.loc[CR, "high"] == churn.quantile(0.9)
    found = cxsim.breakeven(bank, CR, draws=40, seed=1)
    assert found.current == churn.median()
    # Every trial pins the input and draws the table's other columns, as simulate does.
    expected = cxsim.simulate(bank, draws=40, seed=1, fixed={CR: 0.25}, progress=False)
    curve = cxsim.breakeven(bank, CR, draws=40, seed=1, bounds=(0.25, 0.35), grid=2).curve
    assert curve["expected_npv"].iloc[0] == pytest.approx(expected.outcomes["npv"].mean())


def test_sobol_and_variance_shares_say_the_table_joins_its_inputs(bank):
    indices = cxsim.sobol(bank, n=32, seed=1)
    assert set(indices["input"]) == {SUPPORT, BILLING, CR, WALLET}
    assert any("rows of the samples table voc_samples.csv" in n for n in indices.attrs["notes"])
    shares = cxsim.variance_shares(bank, draws=200, seed=1)
    assert any("samples table pain_samples.csv" in n for n in shares.attrs["notes"])


def test_the_workbook_shows_the_columns_quantiles(bank, tmp_path):
    result = cxsim.simulate(bank, draws=30, seed=1, progress=False)
    result.to_excel(tmp_path / "case.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "case.xlsx")["Assumptions"]
    rows = {row[1]: row for row in sheet.iter_rows(values_only=True) if row[1] == CR}
    churn = bank.responses.churn_reduction
    _, _, _, mean, p10, p50, p90, kind = rows[CR][:8]
    assert (mean, p10, p50, p90) == pytest.approx(
        (churn.mean(), churn.quantile(0.1), churn.median(), churn.quantile(0.9))
    )
    assert kind == "Table(voc_samples.csv: cr; 30 rows)"


def test_validate_counts_fed_inputs_as_uncertain(capsys):
    from cxsim.cli.main import main

    assert main(["validate", str(BANK)]) == 0
    assert "4 uncertain inputs" in capsys.readouterr().out


# -- rules and problems --------------------------------------------------------------------


def test_pain_shares_are_checked_row_by_row_with_the_shares_not_in_the_table(tmp_path):
    # The largest support share plus the largest billing share exceed 1, but in no one row.
    path = write_csv(tmp_path / "pain.csv", ["s", "b"], [(0.7, 0.2), (0.3, 0.6), (0.5, 0.48)])
    data = with_table(path, {"s": SUPPORT, "b": BILLING})
    data["work_groups"]["billing"] = {
        "pain_share": {"core": 0.25},
        "plan": {"start_month": 0, "ramp_months": 3, "target": 0.5},
    }
    assert len(cxsim.load_scenario(data).table_inputs()) == 2
    # A journey's share, not in the table, counts at its largest value: row 3 goes over.
    data["journeys"] = {
        "onboarding": {
            "groups": ["support", "billing"],
            "pain_share": {"core": {"dist": "uniform", "min": 0.0, "max": 0.05}},
        }
    }
    assert problems_of(data) == [
        f"{shown(path)}:4: s: pain shares of segment 'core' sum to more than 1 in this row "
        "(got 1.03; allowed Σ over work groups and journeys ≤ 1 per segment in every row "
        "(shares not in a table at their largest value))"
    ]


def test_other_row_rules(tmp_path):
    path = write_csv(
        tmp_path / "t.csv",
        ["p", "start", "rate"],
        [(0.3, 2, 0.08), (0.85, 3, 0.09), (0.4, 30, 0.005)],
    )
    data = with_table(
        path,
        {"p": "segments.core.promoters", "start": "work_groups.support.plan.start_month"}
        | {"rate": "discount_rate"},
        terminal_value={"method": "perpetuity", "growth": 0.01},
    )
    assert problems_of(data) == [
        f"{shown(path)}:4: start: starts after the horizon for "
        "work_groups.support.plan.start_month (got 30; allowed 0 to 23)",
        f"{shown(path)}:3: p: promoters + detractors exceed 1 in this row (got 1.05; allowed "
        "promoters + detractors ≤ 1 in every row)",
        f"{shown(path)}:4: rate: at or below the perpetuity's growth (terminal_value.growth), "
        "which then has no finite value (got 0.005; allowed an annual rate above 0.01)",
    ]


def test_many_bad_rows_are_listed_ten_and_counted(tmp_path):
    path = write_csv(tmp_path / "t.csv", [CR], [(1.5,)] * 25 + [(0.3,)])
    lines = problems_of(with_table(path))
    assert len(lines) == 11
    assert lines[0] == f"{shown(path)}:2: {CR}: out of range (got 1.5; allowed [0, 1])"
    assert lines[-1] == f"{shown(path)}: {CR}: 15 more rows: out of range"


def test_every_problem_is_reported_at_once(tmp_path):
    good = write_csv(tmp_path / "good.csv", ["cr", "x"], [(0.2, 1.0), (0.3, 2.0)])
    bad = write_csv(tmp_path / "bad.csv", [WALLET], [(0.04,), (2.0,)])
    data = minimal_mapping()
    data["samples"] = [
        {"file": str(tmp_path / "missing.csv")},
        {"file": str(good), "columns": {"cr": CR, "y": WALLET}},
        {"file": str(bad)},
    ]
    lines = problems_of(data)
    assert len(lines) == 3
    assert "samples.0.file: samples table not found" in lines[0]
    assert "samples.1.columns.y: not a column of" in lines[1]
    assert lines[2] == f"{shown(bad)}:3: {WALLET}: out of range (got 2; allowed [0, 1])"


def test_files_that_are_not_tables(tmp_path):
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"a,b\n1,\x00\n")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(f"{CR},{WALLET}\n0.1,0.2\n0.3,0.4,0.5\n")
    named_twice = tmp_path / "twice.csv"
    named_twice.write_text(f"{CR},{CR}\n0.1,0.2\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("# only a comment\n\n")
    assert read_table(nul, "nul.csv")[1][0].message == "cannot read it as CSV (it holds NUL bytes)"
    assert (
        str(read_table(ragged, "r.csv")[1][0])
        == "r.csv:3: 3 fields where the header names 2 columns"
    )
    assert str(read_table(named_twice, "t.csv")[1][0]) == f"t.csv:1: {CR}: column named twice"
    assert read_table(empty, "e.csv")[1][0].message == "the file is empty"


def test_a_table_after_comment_lines_names_its_own_lines(tmp_path):
    path = tmp_path / "stan.csv"
    path.write_text("# model = cx\n# chains = 1\nlp__,c\n-7.1,0.2\n\n# adaptation\n-7.3,x\n")
    table, problems = read_table(path, "stan.csv")
    assert problems == [] and table.header_line == 3
    assert table.lines.tolist() == [4, 7] and table.bad == ((1, 1, "x"),)
    lines = problems_of(with_table(path, {"c": CR}))
    assert lines == [f"{shown(path)}:7: c: not a number for {CR} (got 'x'; allowed a number)"]


def test_a_table_in_a_mapping_is_relative_to_the_working_folder(tmp_path, monkeypatch):
    write_csv(tmp_path / "draws.csv", [CR], [(0.2,), (0.3,)])
    monkeypatch.chdir(tmp_path)
    data = with_table(Path("draws.csv"))
    assert len(cxsim.load_scenario(data).table_inputs()) == 1


# -- extends and include -------------------------------------------------------------------


def test_tables_accumulate_through_extends_and_include(bank):
    # bank.yaml names pain_samples.csv; the calibration it includes adds voc_samples.csv,
    # relative to the calibration file.
    assert [entry["file"] for entry in bank.data["samples"]] == [
        "pain_samples.csv",
        "voc_samples.csv",
    ]
    assert {path.resolve() for path in bank.tables} == {PAIN.resolve(), VOC.resolve()}
    origin = bank.origins[("samples", "1")]
    assert Path(origin).name == "voc.yaml" and Path(origin).parent.name == "calibration"


def test_an_include_adds_its_table_to_a_variants(tmp_path):
    write_csv(tmp_path / "cal" / "promoters.csv", ["segments.core.promoters"], [(0.3,), (0.35,)])
    (tmp_path / "cal" / "nps.yaml").write_text("samples:\n  - file: promoters.csv\n")
    variant = tmp_path / "variant.yaml"
    variant.write_text(yaml.safe_dump({"extends": str(BANK), "include": ["cal/nps.yaml"]}))
    scenario = cxsim.load_scenario(variant)
    assert [Path(e["file"]).name for e in scenario.data["samples"]] == [
        "pain_samples.csv",
        "voc_samples.csv",
        "promoters.csv",
    ]
    assert len(scenario.table_inputs()) == 5


def test_a_table_named_again_takes_the_later_entry_in_its_place(tmp_path):
    variant = tmp_path / "variant.yaml"
    again = {"file": str(VOC), "columns": {"cr": CR}}
    variant.write_text(yaml.safe_dump({"extends": str(BANK), "samples": [again]}))
    scenario = cxsim.load_scenario(variant)
    assert len(scenario.data["samples"]) == 2
    assert scenario.data["samples"][1]["columns"] == {"cr": CR}
    assert scenario.responses.wallet_gain == 0.035  # its point estimate, no longer fed
    # columns: {} switches a base's table off.
    variant.write_text(
        yaml.safe_dump({"extends": str(BANK), "samples": [{"file": str(PAIN), "columns": {}}]})
    )
    fed = {item.path for item in cxsim.load_scenario(variant).table_inputs()}
    assert fed == {CR, WALLET}


def test_a_variant_setting_a_fed_input_equals_the_override():
    variant = cxsim.load_scenario(SAMPLES / "variant.yaml")
    assert len(variant.notes) == 1
    assert variant.notes[0].endswith(
        "responses.wallet_gain: set here, so the base's samples table voc_samples.csv no "
        "longer feeds it (its column 'wallet' is not read)"
    )
    base = cxsim.load_scenario(BANK)
    same = base.with_overrides({WALLET: 0.04, "name": variant.name})
    assert same.model == variant.model
    first, second = draw_inputs(same, 2, 0, 100), draw_inputs(variant, 2, 0, 100)
    assert all(np.array_equal(first[p], second[p]) for p in first)


def test_distinct_files_written_alike_draw_their_own_rows(tmp_path):
    promoters, detractors = "segments.core.promoters", "segments.core.detractors"
    for folder, path in (("a", promoters), ("b", detractors)):
        write_csv(tmp_path / folder / "t.csv", [path], np.linspace(0.01, 0.1, 50)[:, None])
        (tmp_path / folder / "frag.yaml").write_text("samples:\n  - file: t.csv\n")
    top = tmp_path / "top.yaml"
    top.write_text(
        yaml.safe_dump({"extends": str(BANK), "include": ["a/frag.yaml", "b/frag.yaml"]})
    )
    scenario = cxsim.load_scenario(top)
    streams = {item.path: item.value.stream for item in scenario.table_inputs()}
    assert (streams[promoters], streams[detractors]) == ("samples.t.csv", "samples.t.csv#2")
    values = draw_inputs(scenario, 1, 0, 200)
    assert not np.array_equal(values[promoters], values[detractors])


# -- provenance and writing ----------------------------------------------------------------


def test_the_tables_are_input_files_with_their_sha256(bank):
    digests = {Path(name).resolve(): digest for name, digest in bank.files.items()}
    for path in (PAIN, VOC):
        assert digests[path.resolve()] == hashlib.sha256(path.read_bytes()).hexdigest()
    result = cxsim.simulate(bank, draws=5, seed=1, progress=False)
    assert set(bank.files) <= set(result.provenance().scenario_sha256)
    assert set(bank.with_overrides({CR: 0.2}).files) == set(bank.files)
    mapping = cxsim.load_scenario(with_table(VOC.resolve(), {"cr": CR}))
    assert list(mapping.files.values()) == [hashlib.sha256(VOC.read_bytes()).hexdigest()]


def test_a_written_scenario_loads_anywhere_and_draws_the_same_rows(bank, tmp_path):
    out = tmp_path / "run" / "scenario.yaml"
    out.parent.mkdir()
    bank.to_yaml(out)
    written = cxsim.load_scenario(out)
    entry = written.data["samples"][1]
    assert entry["name"] == "voc_samples.csv" and not Path(entry["file"]).is_absolute()
    first, second = draw_inputs(bank, 6, 0, 100), draw_inputs(written, 6, 0, 100)
    assert all(np.array_equal(first[p], second[p]) for p in first)
    # to_dict stands on its own too (absolute files), e.g. for validate().
    from cxsim.scenario import validate

    assert validate(bank.to_dict()).table_inputs()
