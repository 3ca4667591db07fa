"""Global sensitivity: Sobol' indices (Saltelli's design) and rank-regression variance shares."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import cxsim
import cxsim.montecarlo.tasks as tasks
from cxsim.analysis.global_sensitivity import sobol, variance_shares
from cxsim.cli import main
from tests.conftest import FLAGSHIP, minimal_mapping

CHURN, MARKET = "responses.churn_reduction", "segments.core.market_size"


def one_driver_scenario() -> cxsim.Scenario:
    """Two uncertain inputs: churn reduction moves the NPV; market size only changes the
    market share, so it cannot move the NPV at all."""
    data = minimal_mapping()
    data["responses"]["churn_reduction"] = {"dist": "pert", "min": 0.1, "mode": 0.3, "max": 0.4}
    data["segments"]["core"]["market_size"] = {"dist": "uniform", "min": 5e4, "max": 2e5}
    return cxsim.load_scenario(data)


@pytest.fixture(scope="module")
def flagship() -> cxsim.Scenario:
    return cxsim.load_scenario(FLAGSHIP)


def test_the_only_driver_explains_everything_and_the_inert_input_nothing():
    table = sobol(one_driver_scenario(), n=256, seed=3).set_index("input")
    assert table.columns.tolist() == ["S1", "S1_conf", "ST", "ST_conf"]
    assert table.index.tolist() == [CHURN, MARKET]  # sorted by ST
    driver, inert = table.loc[CHURN], table.loc[MARKET]
    for index in ("S1", "ST"):
        assert abs(driver[index] - 1.0) <= driver[f"{index}_conf"]
        assert 0 < driver[f"{index}_conf"] < 0.3
        assert abs(inert[index]) <= inert[f"{index}_conf"] + 1e-12
    assert table.attrs["rows"] == 256 * (2 + 2)
    assert "no correlations" in " ".join(table.attrs["notes"])


def test_indices_of_an_additive_model_match_their_analytic_values():
    # NPV is linear in the two costs: S1 = ST = slope² · variance, normalised.
    data = minimal_mapping()
    data["work_groups"]["support"]["cost"] = {
        "one_time": {"dist": "uniform", "min": 20000, "max": 100000},
        "monthly": {"dist": "uniform", "min": 2000, "max": 8000},
    }
    scenario = cxsim.load_scenario(data)

    def npv(one_time: float, monthly: float) -> float:
        fixed = {
            "work_groups.support.cost.one_time": one_time,
            "work_groups.support.cost.monthly": monthly,
        }
        return float(cxsim.simulate(scenario, draws=1, seed=0, fixed=fixed).outcomes["npv"][0])

    base = npv(0, 0)
    parts = {
        "work_groups.support.cost.one_time": ((npv(1, 0) - base) * 80000) ** 2 / 12,
        "work_groups.support.cost.monthly": ((npv(0, 1) - base) * 6000) ** 2 / 12,
    }
    total = sum(parts.values())
    table = sobol(scenario, n=256).set_index("input")
    for path, part in parts.items():
        for index in ("S1", "ST"):
            assert abs(table.loc[path, index] - part / total) <= table.loc[path, f"{index}_conf"]
    assert table.loc["work_groups.support.cost.monthly", "ST"] == pytest.approx(
        parts["work_groups.support.cost.monthly"] / total, abs=0.03
    )


def test_inputs_can_be_restricted_and_the_rest_sit_at_their_medians(flagship):
    table = sobol(flagship, n=64, inputs=[CHURN, "responses.wallet_gain"])
    assert sorted(table["input"]) == [CHURN, "responses.wallet_gain"]
    assert table.attrs["rows"] == 64 * 4
    notes = " ".join(table.attrs["notes"])
    assert "Held at their medians" in notes and "responses.avoidable_contacts" in notes
    assert "Correlations ignored: responses.churn_reduction ~ responses.promoter_gain" in notes


def test_flagship_top_driver_agrees_with_tornado_and_variance_shares(flagship):
    table = sobol(flagship, n=256)
    assert len(table) == len(flagship.uncertain_inputs())
    assert table["ST"].is_monotonic_decreasing
    top = table["input"].iloc[0]
    assert top in cxsim.tornado(flagship)["input"].head(3).tolist()
    shares = variance_shares(flagship, draws=1000, seed=2)
    assert top in shares["input"].head(3).tolist()
    assert table["S1"].sum() <= 1 + 0.05
    assert (table["ST"] >= 0).all() and (table["ST"] <= 1 + table["ST_conf"]).all()
    assert "Correlations ignored" in " ".join(table.attrs["notes"])


def test_variance_shares_sum_to_r2_and_reuse_a_run(flagship):
    shares = variance_shares(flagship, draws=400, seed=5)
    assert shares.columns.tolist() == ["input", "share", "srrc"]
    assert shares["share"].is_monotonic_decreasing
    assert shares["share"].sum() == pytest.approx(shares.attrs["r2"], abs=1e-12)
    assert 0.5 < shares.attrs["r2"] <= 1
    assert "read their shares together" in " ".join(shares.attrs["notes"])
    result = cxsim.simulate(flagship, draws=400, seed=5)
    again = variance_shares(flagship, result=result)
    assert again.equals(shares) and again.attrs["r2"] == shares.attrs["r2"]
    # A higher cost lowers the NPV; a higher wallet gain raises it.
    sign = dict(zip(shares["input"], np.sign(shares["srrc"]), strict=True))
    assert sign["work_groups.it.cost.one_time"] == -1 and sign["responses.wallet_gain"] == 1


def test_variance_shares_of_the_one_driver_scenario():
    shares = variance_shares(one_driver_scenario(), draws=300).set_index("input")
    assert shares.attrs["r2"] == pytest.approx(1.0)  # NPV is monotone in churn reduction
    assert shares.loc[CHURN, "share"] == pytest.approx(1.0)
    assert shares.loc[MARKET, "share"] < 1e-6


def test_executor_gives_the_serial_bits(flagship, monkeypatch):
    monkeypatch.setattr(tasks, "SLICE_ROWS", 200)  # 64 × 13 rows → five slices
    serial = sobol(flagship, n=64, seed=1)
    with ProcessPoolExecutor(max_workers=2) as executor:
        parallel = sobol(flagship, n=64, seed=1, executor=executor)
    assert parallel.equals(serial)
    assert parallel.attrs == serial.attrs


def test_bad_inputs_are_clear_errors(flagship):
    with pytest.raises(cxsim.CxsimError, match="no uncertain inputs"):
        sobol(cxsim.load_scenario(minimal_mapping()))
    with pytest.raises(cxsim.CxsimError, match="no uncertain inputs"):
        variance_shares(cxsim.load_scenario(minimal_mapping()))
    with pytest.raises(
        cxsim.CxsimError, match=r"unknown input 'responses.churn_reductio' \(did you mean"
    ):
        sobol(flagship, inputs=["responses.churn_reductio"])
    with pytest.raises(cxsim.CxsimError, match="is a fixed number in this scenario"):
        sobol(flagship, inputs=["segments.mass_affluent.arpu"])
    for n in (1000, 0, -4, 2.0, True):
        with pytest.raises(cxsim.CxsimError, match="n must be a positive power of two"):
            sobol(flagship, n=n)
    with pytest.raises(cxsim.CxsimError, match="unknown outcome 'nvp'; choose one of npv, roi"):
        sobol(flagship, n=64, outcome="nvp")
    with pytest.raises(cxsim.CxsimError, match="unknown outcome 'nvp'"):
        variance_shares(flagship, draws=50, outcome="nvp")
    with pytest.raises(cxsim.CxsimError, match="level must lie strictly between 0 and 1"):
        sobol(flagship, n=64, level=95)
    for seed in (-1, 2**64):  # the seeds of every run: never wrapped
        with pytest.raises(cxsim.CxsimError, match="seed must be a whole number"):
            sobol(flagship, n=64, seed=seed)
    with pytest.raises(cxsim.CxsimError, match="draws must be at least 13"):
        variance_shares(flagship, draws=5)
    inert = cxsim.load_scenario(one_driver_scenario().data).with_overrides({CHURN: 0.3})
    with pytest.raises(cxsim.CxsimError, match="npv does not vary"):
        sobol(inert, n=64)
    other = cxsim.simulate(one_driver_scenario(), draws=20, seed=0)
    with pytest.raises(cxsim.CxsimError, match="other uncertain inputs"):
        variance_shares(flagship, result=other)


def test_cli_sobol_and_variance_print_their_tables_and_charts(capsys, tmp_path):
    png = tmp_path / "sobol.png"
    assert (
        main(["sensitivity", str(FLAGSHIP), "--method", "sobol", "--n", "64", "--plot", str(png)])
        == 0
    )
    out = capsys.readouterr().out
    assert "Sobol' indices of NPV" in out and "832 engine runs" in out
    assert "responses.wallet_gain" in out and "95% interval" in out
    assert "Note: correlations ignored" in out
    assert png.stat().st_size > 0
    png = tmp_path / "shares.png"
    args = ["sensitivity", str(FLAGSHIP), "--method", "variance", "--draws", "300", "--seed", "3"]
    assert main([*args, "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "Variance shares of NPV" in out and "R² =" in out and "SRRC" in out
    assert "Note: correlations kept in the draws" in out
    assert png.stat().st_size > 0
    assert main(["sensitivity", str(FLAGSHIP), "--method", "sobol", "--n", "100"]) == 1
    assert "power of two" in capsys.readouterr().err
