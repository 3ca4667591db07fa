"""The funding optimizer (docs/model.md §9): exhaustive optima on a small case, budget, files, CLI.

The small case is tests/scenarios/minimal.yaml with two more work groups (billing, and digital
which requires billing and has a risky one-time cost), so three items with seven options each:
343 plans, few enough to enumerate here independently of cxsim.optimize.
"""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import yaml

import cxsim
from cxsim.analysis.planning import optimize
from cxsim.analysis.planning.space import scaled as scale_value
from cxsim.cli.optimize import main_optimize
from cxsim.errors import CxsimError
from cxsim.outputs.mc_error import mean_se
from cxsim.uncertainty.copula import sample
from cxsim.uncertainty.distributions import Distribution
from cxsim.uncertainty.streams import stream_id
from tests.conftest import minimal_mapping, one_segment

DRAWS, SEED, HORIZON = 50, 3, 36
GROUPS = ("support", "billing", "digital")
OPTIONS = [None] + [(f, s) for f in (0.5, 1.0) for s in (0, 6, 12)]
UNLIMITED = 1e7


def small_case() -> dict:
    data = minimal_mapping()
    data["horizon_months"] = HORIZON
    data["work_groups"]["support"]["pain_share"] = {"core": 0.3}
    data["work_groups"]["billing"] = {
        "pain_share": {"core": 0.2},
        "plan": {"start_month": 2, "ramp_months": 9, "target": 0.7},
        "cost": {"one_time": 30000, "monthly": 2000},
    }
    data["work_groups"]["digital"] = {
        "pain_share": {"core": 0.4},
        "plan": {"start_month": 3, "ramp_months": 12, "target": 0.6, "curve": "s_curve"},
        "cost": {
            "one_time": {"dist": "triangular", "min": 20000, "mode": 30000, "max": 300000},
            "monthly": 1000,
        },
        "requires": ["billing"],
    }
    data["responses"]["churn_reduction"] = {"dist": "pert", "min": 0.05, "mode": 0.25, "max": 0.4}
    return data


def _times(value, f):
    """The test's own scaling: numbers, and the triangular's min/mode/max."""
    if isinstance(value, dict):
        return {k: (v * f if k in ("min", "mode", "max") else v) for k, v in value.items()}
    return value * f


@pytest.fixture(scope="module")
def exhaustive() -> list[dict]:
    """Every combination of options, simulated with simulate + with_overrides."""
    data = small_case()
    base = cxsim.load_scenario(data)
    rows = []
    for combo in itertools.product(OPTIONS, repeat=len(GROUPS)):
        overrides, on = {}, []
        for name, option in zip(GROUPS, combo, strict=True):
            if option is None:
                continue
            f, s = option
            group = data["work_groups"][name]
            on.append(name)
            overrides[f"work_groups.{name}.plan.target"] = group["plan"]["target"] * f
            start = min(group["plan"]["start_month"] + s, HORIZON - 1)
            overrides[f"work_groups.{name}.plan.start_month"] = start
            for key in ("one_time", "monthly"):
                overrides[f"work_groups.{name}.cost.{key}"] = _times(group["cost"][key], f)
        result = cxsim.simulate(
            base.with_overrides(overrides), draws=DRAWS, seed=SEED, groups_on=on, progress=False
        )
        npv = result.outcomes["npv"].to_numpy()
        rows.append(
            {
                "plan": dict(zip(GROUPS, combo, strict=True)),
                "spend": float(result.programme_cost.sum(axis=1).mean()),
                "mean": float(npv.mean()),
                "p10": float(np.quantile(npv, 0.1)),
                "npv": npv,
            }
        )
    return rows


def _best(rows, risk, budget):
    feasible = [r for r in rows if r["spend"] <= budget]
    return max(feasible, key=lambda r: (r[risk], -r["spend"]))


def _chosen(result) -> dict:
    out = {}
    for _, row in result.plan_.iterrows():
        funded = row["funded"]
        out[row["item"]] = (row["target_fraction"], row["start_shift"]) if funded else None
    return out


# ----------------------------------------------------------------------------- optimality
@pytest.mark.parametrize(
    ("risk", "budget"),
    [
        ("mean", UNLIMITED),
        ("p10", UNLIMITED),
        ("mean", 250_000),
        ("p10", 250_000),
        ("mean", 200_000),
        ("p10", 120_000),
    ],
)
def test_finds_the_exhaustive_optimum(exhaustive, risk, budget):
    truth = _best(exhaustive, risk, budget)
    result = optimize(small_case(), budget, risk=risk, draws=DRAWS, seed=SEED)
    assert result.objective_ == pytest.approx(truth[risk], rel=1e-9, abs=1e-6)
    assert _chosen(result) == truth["plan"]
    assert result.spend_ == pytest.approx(truth["spend"], rel=1e-9)
    assert result.spend_ <= budget
    assert result.evaluations_ < len(exhaustive)  # it searched, not enumerated


def test_the_cases_are_not_trivial(exhaustive):
    """The optima differ by risk and budget, so the test above can tell them apart."""
    unlimited = _best(exhaustive, "mean", UNLIMITED)
    assert unlimited["plan"] == dict.fromkeys(GROUPS, (1.0, 0))
    assert _best(exhaustive, "p10", UNLIMITED)["plan"]["digital"] is None  # too risky at p10
    for budget in (250_000, 200_000, 120_000):
        assert unlimited["spend"] > budget  # the budget binds
    tight, loose = _best(exhaustive, "mean", 200_000), _best(exhaustive, "mean", 250_000)
    assert tight["plan"] != loose["plan"]
    assert any(v is not None and v[0] == 0.5 for v in tight["plan"].values())  # scaled down


def test_a_bigger_budget_never_gives_a_worse_objective():
    objectives = []
    for budget in (50_000, 120_000, 200_000, 250_000, 400_000, UNLIMITED):
        result = optimize(small_case(), budget, draws=DRAWS, seed=SEED)
        assert result.spend_ <= budget
        assert all(result.history_.loc[result.history_["feasible"], "spend"] <= budget)
        objectives.append(result.objective_)
    assert objectives == sorted(objectives)
    assert objectives[-1] > objectives[0]


def test_never_funds_a_group_without_its_prerequisite():
    result = optimize(small_case(), UNLIMITED, risk="p10", draws=DRAWS, seed=SEED)
    for text in result.history_["plan"]:
        assert "digital" not in text or "billing" in text


# ----------------------------------------------------------------------------- the result
@pytest.mark.parametrize(("risk", "budget"), [("mean", 250_000), ("mean", 200_000), ("p10", 1e7)])
def test_the_plan_file_round_trips_to_the_reported_numbers(tmp_path, risk, budget):
    result = optimize(small_case(), budget, risk=risk, draws=DRAWS, seed=SEED)
    path = tmp_path / "plan.yaml"
    result.to_yaml(path)
    scenario = cxsim.load_scenario(path)
    funded = set(result.plan_.loc[result.plan_["funded"], "item"])
    assert set(scenario.work_groups) == funded
    rerun = cxsim.simulate(scenario, draws=DRAWS, seed=SEED, progress=False)
    npv = rerun.outcomes["npv"].to_numpy()
    assert npv.mean() == pytest.approx(result.npv_mean_, rel=1e-9)
    assert np.quantile(npv, 0.1) == pytest.approx(result.npv_p10_, rel=1e-9)
    assert rerun.programme_cost.sum(axis=1).mean() == pytest.approx(result.spend_, rel=1e-9)
    assert scenario.provenance["optimize"]["budget"] == budget
    assert not result.notes


def test_history_frontier_summary_and_plot():
    result = optimize(small_case(), 200_000, draws=DRAWS, seed=SEED)
    history = result.history_
    assert len(history) == result.evaluations_
    assert list(history.columns) == [
        "plan",
        "funded",
        "spend",
        "objective",
        "npv_mean",
        "npv_p10",
        "feasible",
    ]
    assert result.objective_ == history.loc[history["feasible"], "objective"].max()
    front = result.frontier()
    assert front["spend"].is_monotonic_increasing
    assert (np.diff(front["objective"].to_numpy()) > 0).all()
    for _, row in history.iterrows():  # nothing evaluated beats the frontier at its spend
        cheaper = front[front["spend"] <= row["spend"]]
        assert cheaper["objective"].max() >= row["objective"]
    text = str(result.summary())
    assert "expected NPV" in text and "p10 NPV" in text and "of the budget" in text
    assert "200,000" in text and "plans evaluated" in text
    assert "<table" in result._repr_html_()
    ax = result.plot_frontier()
    assert ax.get_ylabel() == "expected NPV"
    assert any(line.get_xdata()[0] == 200_000 for line in ax.get_lines())
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


# ----------------------------------------------------------------------------- why this plan
def _row(rows, plan: dict) -> dict:
    return next(r for r in rows if r["plan"] == plan)


def _option_text(option) -> str:
    f, s = option
    return f"{f:.0%}" + (f", {s} months late" if s else "")


@pytest.mark.parametrize(("risk", "budget"), [("mean", 200_000), ("mean", 250_000), ("p10", 1e7)])
def test_the_why_tables_agree_with_independent_runs(exhaustive, risk, budget):
    """Each table row against the exhaustive simulate runs of the dropped or added plan."""
    result = optimize(small_case(), budget, risk=risk, draws=DRAWS, seed=SEED)
    chosen = _chosen(result)
    mine = _row(exhaustive, chosen)
    funded = [g for g in GROUPS if chosen[g] is not None]
    assert list(result.marginal_.index) == list(result.plan_.loc[result.plan_["funded"], "item"])
    for group in funded:
        dropped = dict(chosen, **{group: None})
        if group == "billing":  # digital requires billing: it goes too
            dropped["digital"] = None
        other = _row(exhaustive, dropped)
        row = result.marginal_.loc[group]
        assert row["npv_lost"] == pytest.approx(mine["mean"] - other["mean"], rel=1e-9, abs=1e-6)
        assert row["p10_lost"] == pytest.approx(mine["p10"] - other["p10"], rel=1e-9, abs=1e-6)
        assert row["spend_saved"] == pytest.approx(mine["spend"] - other["spend"], rel=1e-9)
        assert row["npv_lost_se"] == pytest.approx(mean_se(mine["npv"] - other["npv"]), rel=1e-6)
        assert row["p10_lost_se"] > 0
        too = [g for g in GROUPS if g != group and chosen[g] is not None and dropped[g] is None]
        assert row["drops_too"] == ", ".join(too)
    for group in [g for g in GROUPS if chosen[g] is None]:
        plans = []
        for option in OPTIONS[1:]:
            added = dict(chosen, **{group: option})
            if group == "digital" and added["billing"] is None:  # at its cheapest, on time
                added["billing"] = (0.5, 0)
            plans.append((option, _row(exhaustive, added)))
        row = result.left_out_.loc[group]
        fitting = [(o, r) for o, r in plans if r["spend"] <= budget]
        if fitting:
            option, best = max(fitting, key=lambda p: (p[1][risk], -p[1]["spend"]))
            assert row["option"] == _option_text(option)
            assert row["npv_gain"] == pytest.approx(best["mean"] - mine["mean"], rel=1e-9)
            assert row["p10_gain"] == pytest.approx(best["p10"] - mine["p10"], rel=1e-9)
            assert row["spend_added"] == pytest.approx(best["spend"] - mine["spend"], rel=1e-9)
            assert row["npv_gain_se"] == pytest.approx(mean_se(best["npv"] - mine["npv"]), rel=1e-6)
            assert math.isnan(row["over_budget_by"])
            assert row[risk.replace("mean", "npv") + "_gain"] <= 0  # a local optimum
        else:
            option, cheapest = min(plans, key=lambda p: p[1]["spend"])
            assert row["option"] == _option_text(option)
            assert row["over_budget_by"] == pytest.approx(cheapest["spend"] - budget, rel=1e-9)
            assert math.isnan(row["npv_gain"])
    text = str(result.summary())
    assert "What each funded item adds" in text and "next budget step" in text
    assert "Left out" in text and "Re-checked on 50 fresh draws (seed 4)" in text
    assert ("p10 NPV lost" in text) == (risk == "p10")


def test_the_recheck_uses_fresh_draws_and_keeps_the_plan():
    data = small_case()
    result = optimize(data, 250_000, draws=DRAWS, seed=SEED)
    recheck = result.recheck_
    assert recheck.attrs["seed"] == SEED + 1 and recheck.attrs["draws"] == DRAWS
    assert list(recheck.index) == ["chosen", "runner-up", "own plan (over the budget)"]
    chosen = recheck.loc["chosen"]
    history = result.history_[result.history_["feasible"]].sort_values("objective")
    assert chosen["plan"] == history["plan"].iloc[-1]  # the plan is the search's
    assert chosen["search_objective"] == result.objective_
    fresh = cxsim.simulate(result.scenario_, draws=DRAWS, seed=SEED + 1, progress=False)
    npv = fresh.outcomes["npv"].to_numpy()
    assert chosen["npv_mean"] == pytest.approx(npv.mean(), rel=1e-9)
    assert chosen["npv_mean"] != pytest.approx(result.npv_mean_, rel=1e-3)  # other draws
    assert chosen["npv_mean_se"] == pytest.approx(mean_se(npv), rel=1e-9)
    own = cxsim.simulate(data, draws=DRAWS, seed=SEED + 1, progress=False).outcomes["npv"]
    assert recheck.iloc[2]["npv_mean"] == pytest.approx(own.mean(), rel=1e-9)
    assert not recheck.iloc[2]["within_budget"]
    # the runner-up: the best other plan the search evaluated within the budget
    runner_up = history[history["plan"] != chosen["plan"]].iloc[-1]
    assert recheck.loc["runner-up", "plan"] == runner_up["plan"]
    assert recheck.loc["runner-up", "search_objective"] == runner_up["objective"]
    ahead = chosen["objective"] - recheck.loc["runner-up", "objective"]
    assert recheck.loc["runner-up", "chosen_ahead_by"] == pytest.approx(ahead, rel=1e-9)
    verdict = recheck.attrs["verdict"]
    assert verdict.split(":")[0] in ("the choice holds", "too close to call")
    assert verdict in str(result.summary())
    # the same search with the next seed re-checks on different draws again
    again = optimize(data, 250_000, draws=DRAWS, seed=SEED + 1)
    assert again.recheck_.attrs["seed"] == SEED + 2


def test_the_next_budget_step_is_the_next_frontier_plan():
    result = optimize(small_case(), 200_000, draws=DRAWS, seed=SEED)
    front = result.frontier()
    above = front[front["spend"] > 200_000]
    step = result.next_step_
    assert len(step) == 1
    assert step["plan"].iloc[0] == above["plan"].iloc[0]
    assert step["gain"].iloc[0] == pytest.approx(above["objective"].iloc[0] - result.objective_)
    assert step["extra_spend"].iloc[0] == pytest.approx(above["spend"].iloc[0] - result.spend_)
    unlimited = optimize(small_case(), UNLIMITED, draws=DRAWS, seed=SEED)
    assert unlimited.next_step_.empty
    assert "no plan evaluated above the budget beats" in str(unlimited.summary())


def test_funding_nothing_is_a_valid_answer(tmp_path):
    data = small_case()
    for group in data["work_groups"].values():
        group["cost"] = {"one_time": 5e6, "monthly": 1e5}
    result = optimize(data, UNLIMITED, draws=10, seed=SEED)
    assert result.funds_nothing and result.objective_ == 0.0 and result.spend_ == 0.0
    assert "Fund nothing" in str(result.summary())
    assert result.marginal_.empty and list(result.left_out_.index) == list(GROUPS)
    assert (result.left_out_["npv_gain"] < 0).all()
    result.to_yaml(tmp_path / "nothing.yaml")
    assert not cxsim.load_scenario(tmp_path / "nothing.yaml").work_groups


def test_capabilities_are_items_scaled_from_todays_level(tmp_path):
    data = small_case()
    data["capabilities"] = {
        "customer_voice": {
            "level": 0.3,
            "plan": {"start_month": 0, "ramp_months": 6, "target": 0.9},
            "cost": {"one_time": 20000},
        },
        "branding": {"level": 0.4, "cost": {"monthly": 1000}},  # no plan: not a decision
    }
    result = optimize(data, UNLIMITED, draws=DRAWS, seed=SEED, targets=(0.5, 1.0))
    items = dict(zip(result.plan_["item"], result.plan_["kind"], strict=True))
    assert items["customer_voice"] == "capability" and "branding" not in items
    voice = result.plan_.set_index("item").loc["customer_voice"]
    if voice["funded"]:
        expected = 0.3 + voice["target_fraction"] * (0.9 - 0.3)
        assert voice["target"] == pytest.approx(expected)
    path = tmp_path / "plan.yaml"
    result.to_yaml(path)
    scenario = cxsim.load_scenario(path)
    assert scenario.capabilities["branding"].cost.monthly == 0.0  # buys nothing: left out
    assert scenario.capabilities["branding"].level == 0.4
    rerun = cxsim.simulate(scenario, draws=DRAWS, seed=SEED, progress=False)
    assert rerun.outcomes["npv"].mean() == pytest.approx(result.npv_mean_, rel=1e-9)
    assert not result.notes
    # the half-target option of the capability, evaluated in the history
    half = result.history_[result.history_["plan"].str.contains("customer_voice 50%")]
    assert len(half) > 0


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "pert", "min": 1, "mode": 2, "max": 5},
        {"dist": "triangular", "min": 1, "mode": 2, "max": 5},
        {"dist": "uniform", "min": 1, "max": 5},
        {"dist": "normal", "mean": 3, "sd": 1, "min": 0.5},
        {"dist": "lognormal", "mean": 3, "sd": 1},
        {"dist": "beta", "alpha": 2, "beta": 5, "min": 1, "max": 4},
    ],
)
def test_scaled_distributions_scale_every_draw(spec):
    original = Distribution(spec["dist"], {k: v for k, v in spec.items() if k != "dist"})
    mapping = scale_value(original, 0.4)
    scaled = Distribution(mapping["dist"], {k: v for k, v in mapping.items() if k != "dist"})
    stream = stream_id("work_groups.x.cost.one_time")
    a = sample([original], [stream], 7, 0, 500)[0]
    b = sample([scaled], [stream], 7, 0, 500)[0]
    np.testing.assert_allclose(b, 0.4 * a, rtol=1e-9)
    assert scale_value(2.5, 0.4) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": 0}, "budget must be a positive amount"),
        ({"budget": -5}, "budget must be a positive amount"),
        ({"budget": math.nan}, "budget must be a positive amount"),
        ({"budget": "lots"}, "budget must be an amount of money"),
        ({"budget": 1e6, "risk": "p5"}, "risk must be one of mean, p10"),
        ({"budget": 1e6, "targets": (0.5, 1.5)}, "targets must be a non-empty list"),
        ({"budget": 1e6, "targets": ()}, "targets must be a non-empty list"),
        ({"budget": 1e6, "start_shifts": (0, -6)}, "start_shifts must be"),
        ({"budget": 1e6, "start_shifts": (0, 2.5)}, "start_shifts must be"),
        ({"budget": 1e6, "draws": 0}, "draws must be a whole number"),
        ({"budget": 1e6, "max_passes": 0}, "max_passes must be a whole number"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(CxsimError, match=message):
        optimize(small_case(), **kwargs)


def test_no_work_groups_is_an_error():
    with pytest.raises(CxsimError, match="has no work groups: nothing to fund"):
        optimize(one_segment(), 1e6)


# ----------------------------------------------------------------------------- CLI
def _write(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_case(), sort_keys=False))
    return path


def test_cli_prints_the_plan_and_writes_files(tmp_path, capsys):
    source = _write(tmp_path)
    out, png = tmp_path / "plan.yaml", tmp_path / "frontier.png"
    argv = [source, "--budget", "250k", "--draws", DRAWS, "--seed", SEED, "--out", out]
    code = main_optimize([str(a) for a in [*argv, "--frontier", png, "--quiet"]])
    stdout = capsys.readouterr().out
    assert code == 0
    assert "Funding plan for Minimal" in stdout and "expected NPV" in stdout
    assert "250,000" in stdout and f"Wrote {out}" in stdout
    assert "What each funded item adds" in stdout and "re-checked on 50 fresh draws" in stdout
    assert out.exists() and png.stat().st_size > 1000
    assert set(cxsim.load_scenario(out).work_groups) == {"support", "billing"}

    # refuses to overwrite without --force, and never writes over the input
    assert main_optimize([str(a) for a in [*argv, "--quiet"]]) == 1
    assert "file exists; pass --force" in capsys.readouterr().err
    assert main_optimize([str(a) for a in [*argv, "--quiet", "--force"]]) == 0
    capsys.readouterr()
    same = [source, "--budget", "1e6", "--draws", "5", "--out", source, "--force"]
    assert main_optimize([str(a) for a in same]) == 1
    assert "--out is the input scenario" in capsys.readouterr().err


def test_cli_errors(tmp_path, capsys):
    source = _write(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main_optimize([str(source), "--budget", "-3"])
    assert exit_info.value.code == 2
    assert "must be a positive amount" in capsys.readouterr().err
    assert main_optimize([str(tmp_path / "missing.yaml"), "--budget", "1e6"]) == 1
    assert "file not found" in capsys.readouterr().err
    data = copy.deepcopy(one_segment())
    empty = tmp_path / "empty.yaml"
    empty.write_text(yaml.safe_dump(data))
    assert main_optimize([str(empty), "--budget", "1e6", "--draws", "5"]) == 1
    assert "nothing to fund" in capsys.readouterr().err
    assert main_optimize([str(source), "--budget", "1e6", "--frontier", "x.jpg"]) == 1
    assert "--frontier needs a file name ending in .png" in capsys.readouterr().err


def test_a_dropped_correlation_is_reported():
    data = small_case()
    data["correlations"] = [
        {"between": ["work_groups.digital.cost.one_time", "responses.churn_reduction"], "rho": 0.5}
    ]
    result = optimize(data, 250_000, draws=DRAWS, seed=SEED)
    assert not result.plan_.set_index("item").loc["digital", "funded"]
    assert not result.scenario_.correlations
    assert "responses.churn_reduction afresh" in result.notes[0]
    assert "note: the written plan draws" in str(result.summary())


@pytest.mark.parametrize(
    ("gap", "error", "start"),
    [
        (300.0, 100.0, "the choice holds"),
        (150.0, 100.0, "too close to call: the chosen plan comes out ahead"),
        (-150.0, 100.0, "too close to call: the runner-up comes out ahead"),
        (-300.0, 100.0, "the choice does not hold"),
    ],
)
def test_the_recheck_verdict_needs_two_errors_either_way(gap, error, start):
    import pandas as pd

    from cxsim.analysis.planning.why import verdict

    frame = pd.DataFrame(
        {
            "within_budget": [True, True],
            "chosen_ahead_by": [0.0, gap],
            "chosen_ahead_by_se": [0.0, error],
        },
        index=["chosen", "runner-up"],
    )
    assert verdict(frame).startswith(start)
