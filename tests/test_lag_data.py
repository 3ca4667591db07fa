"""Calibration data checked like scenarios: the lag fit's month column and cohort tables.

Rows are put in time order by their month, whatever order the file has; months given twice,
missing or unreadable, and cohort rows given twice, missing periods or counts that are not
numbers, are located errors (``FILE:LINE: column: message (got VALUE)``), all at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxsim.calibrate import fit_lag
from cxsim.calibrate.cohorts import cohorts_from_frame
from cxsim.calibrate.data import read_table
from cxsim.calibrate.months import month_order
from cxsim.cli.calibrate import main_calibrate
from cxsim.datasets import load_indicator_series
from cxsim.errors import CalibrationError


@pytest.fixture(scope="module")
def series() -> pd.DataFrame:
    return load_indicator_series()


def _fit(frame: pd.DataFrame):
    return fit_lag(frame["leading"], frame["nps"], time=frame["month"], n_boot=0)


@pytest.mark.parametrize("order", ["newest first", "shuffled"])
def test_the_fit_does_not_depend_on_the_order_of_the_rows(series, order):
    """The shipped series sorted newest-first fitted delay 0, lag 0 (R² 0.86) instead of
    about 1.15 and 5.94 months."""
    oldest_first = _fit(series)
    rows = (
        series.iloc[::-1]
        if order == "newest first"
        else series.sample(frac=1.0, random_state=np.random.default_rng(3))
    )
    other = _fit(rows)
    assert (other.delay_, other.lag_, other.effect_) == (
        oldest_first.delay_,
        oldest_first.lag_,
        oldest_first.effect_,
    )
    assert 1.0 < other.delay_ < 1.3 and 5.5 < other.lag_ < 6.5
    assert list(other.fitted_.index[:2]) == ["2019-01", "2019-02"]


def _write(tmp_path, rows: list[str]):
    path = tmp_path / "series.csv"
    path.write_text("month,leading,nps\n" + "\n".join(rows) + "\n")
    return path


def _rows(series: pd.DataFrame) -> list[str]:
    return [f"{m},{g},{y}" for m, g, y in series[["month", "leading", "nps"]].itertuples(False)]


def test_duplicates_gaps_and_unreadable_months_are_located_all_at_once(tmp_path, series, capsys):
    rows = _rows(series)
    rows[4] = rows[3]  # 2019-04 again on line 6; 2019-05 is then missing
    rows[10] = "March" + rows[10][7:]  # line 12
    rows[20:22] = []  # 2020-09 and 2020-10 missing
    month, _, nps = rows[30].split(",")
    rows[30] = f"{month},n/a,{nps}"  # line 32
    path = _write(tmp_path, rows)
    code = main_calibrate(["lag", str(path), "--out", str(tmp_path / "lag.yaml")])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and not (tmp_path / "lag.yaml").exists()
    assert err.splitlines() == [
        f"{path}:32: leading: not a number (got 'n/a')",
        f"{path}:12: month: not a month (got 'March'; allowed a month such as 2019-03, a date, "
        "or a whole month number)",
        f"{path}:6: month: month given twice (first at {path}:5) (got '2019-04'; one row per "
        "month)",
        f"{path}:7: month: 1 month(s) missing after 2019-04 (got '2019-06'; one row per month "
        "without gaps; fill or trim the series)",
        f"{path}:13: month: 1 month(s) missing after 2019-10 (got '2019-12'; one row per "
        "month without gaps; fill or trim the series)",
        f"{path}:22: month: 2 month(s) missing after 2020-08 (got '2020-11'; one row per "
        "month without gaps; fill or trim the series)",
    ]


def test_a_file_sorted_newest_first_calibrates_like_one_sorted_oldest_first(tmp_path, series):
    files = []
    for name, rows in (("old.csv", _rows(series)), ("new.csv", _rows(series)[::-1])):
        path = tmp_path / name
        path.write_text("month,leading,nps\n" + "\n".join(rows) + "\n")
        files.append(path)
    fits = [_fit(read_table(path)) for path in files]
    assert fits[0].delay_ == fits[1].delay_ and fits[0].lag_ == fits[1].lag_


@pytest.mark.parametrize(
    ("labels", "order"),
    [
        (["2019-03", "2019-01", "2019-02"], [1, 2, 0]),
        (["2019-03-31", "2019-01-02", "2019-02-28"], [1, 2, 0]),
        ([12, 10, 11], [1, 2, 0]),
        (pd.period_range("2020-11", periods=3, freq="M")[::-1], [2, 1, 0]),
        (["2019-12", "2020-01"], [0, 1]),  # a year boundary is not a gap
    ],
)
def test_months_are_read_from_labels_dates_and_numbers(labels, order):
    assert month_order(labels).tolist() == order


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["2019-01", "2019-01"], "row 1: month: month given twice (first at row 0)"),
        (["2019-01", "2019-03"], "row 1: month: 1 month(s) missing after 2019-01"),
        ([0, 1, 2.5], "row 2: month: not a month (got 2.5"),
        (["March", "2019-02"], "row 0: month: not a month (got 'March'"),
        (["2019-01", None], "row 1: month: not a month (got an empty cell"),
    ],
)
def test_bad_months_are_named_with_their_row(labels, message):
    with pytest.raises(CalibrationError) as caught:
        month_order(labels)
    assert str(caught.value).startswith(message)


def test_cohort_tables_report_every_problem_with_its_line(tmp_path):
    path = tmp_path / "cohorts.csv"
    path.write_text(
        "cohort,year,active\n"
        "2020,0,100\n"  # line 2
        "2020,1,90\n"
        "2020,1,88\n"  # line 4: period 1 again
        "2020,4,x\n"  # line 5: periods 2-3 missing; a count that is not a number
        "2021,1,80\n"  # line 6: period 0 missing
        "2021,2,70\n"
        ",0,5\n"  # line 8: no cohort
        "2022,0,60\n"
    )
    with pytest.raises(CalibrationError) as caught:
        cohorts_from_frame(read_table(path))
    assert str(caught.value).splitlines() == [
        f"{path}:5: active: not a number (got 'x'; allowed a count of customers ≥ 0)",
        f"{path}:8: cohort: no cohort named (got an empty cell)",
        f"{path}:4: year: cohort 2020: duplicate period (first at {path}:3) (got 1; one row "
        "per cohort and period)",
        f"{path}:5: year: cohort 2020: periods 2 to 3 missing before this row (got 4; periods "
        "run 0, 1, 2, ... without gaps; period 0 is the initial size)",
        f"{path}:6: year: cohort 2021: period 0 missing before this row (got 1; periods run "
        "0, 1, 2, ... without gaps; period 0 is the initial size)",
    ]


def test_a_clean_cohort_table_in_any_row_order_gives_the_same_matrix():
    rows = pd.DataFrame(
        {
            "cohort": [2020, 2020, 2020, 2021, 2021],
            "year": [0, 1, 2, 0, 1],
            "active": [9, 7, 6, 8, 5],
        }
    )
    shuffled = rows.iloc[[4, 2, 0, 3, 1]].reset_index(drop=True)
    pd.testing.assert_frame_equal(cohorts_from_frame(rows), cohorts_from_frame(shuffled))
