"""What listening is worth: the plan as written, the listening loop and the oracle, paired.

All three run on the same draws of the same seed (common random numbers), so their
differences carry only the Monte Carlo error of the differences. The loop's NPV is net of
listening's cost; the plan and the oracle pay none (docs/model.md §13).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxsim.errors import CxsimError
from cxsim.model import listening as loop_model
from cxsim.model.engine import run_cash
from cxsim.model.finance import npv, present_value
from cxsim.model.leading import plan_ramps
from cxsim.model.params import build_params
from cxsim.scenario import Scenario, load_scenario
from cxsim.uncertainty.sampling import draw_inputs

__all__ = ["ROWS", "break_even_respondents", "listening_sweep", "value_of_listening"]

ROWS = (
    "plan_npv",
    "listening_npv",
    "oracle_npv",
    "listening_cost_pv",
    "value_of_listening",
    "evpi",
)
# Draws per engine call: results do not depend on it (each draw's waves read only its own
# counter of the listening stream).
_BLOCK = 512


def value_of_listening(
    scenario: Scenario | str,
    draws: int = 1000,
    seed: int = 0,
    *,
    fixed: dict[str, float] | None = None,
    chunk_size: int | None = None,
    executor: Any = None,
) -> pd.DataFrame:
    """The NPV of the plan as written, of the listening loop and of the oracle, per draw paired.

    Parameters
    ----------
    scenario : Scenario or path
        A scenario with a ``listening:`` block.
    draws, seed : int
        Monte Carlo draws and seed; the three arms share them.
    fixed : mapping, optional
        Inputs pinned to a number in every draw, by dotted path.
    chunk_size : int, optional
        Draws per engine call (default 512); results do not depend on it.
    executor : concurrent.futures.Executor, optional
        Runs the chunks in parallel; results equal a serial run's.

    Returns
    -------
    DataFrame
        Index ``plan_npv, listening_npv, oracle_npv, listening_cost_pv, value_of_listening,
        evpi``; columns ``mean`` and ``mc_error`` (the standard error of the mean). Its
        ``attrs["waves"]`` holds, per wave, the mean over draws of what was measured, the
        belief after it and the effort multiplier of each work group (a DataFrame).

    Examples
    --------
    >>> import cxsim
    >>> table = cxsim.value_of_listening("scenarios/retail_bank_listening.yaml", draws=50, seed=1)
    >>> list(table.columns)
    ['mean', 'mc_error']
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if scenario.listening is None:
        raise CxsimError(f"{scenario.source}: no listening: block to value")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise CxsimError(f"draws must be a whole number of at least 1 (got {draws!r})")
    step = _BLOCK if chunk_size is None else int(chunk_size)
    if step < 1:
        raise CxsimError(f"chunk_size must be at least 1 (got {chunk_size!r})")
    ranges = [(a, min(a + step, draws)) for a in range(0, draws, step)]
    args = [(scenario, seed, a, b, dict(fixed or {})) for a, b in ranges]
    if executor is None:
        parts = [_chunk(*arg) for arg in args]
    else:
        parts = list(executor.map(_chunk, *zip(*args, strict=True)))
    per_draw = {row: np.concatenate([part[0][row] for part in parts]) for row in ROWS}
    table = pd.DataFrame(
        {
            "mean": [float(per_draw[row].mean()) for row in ROWS],
            "mc_error": [
                float(per_draw[row].std(ddof=1) / np.sqrt(draws)) if draws > 1 else float("nan")
                for row in ROWS
            ],
        },
        index=pd.Index(ROWS, name="quantity"),
    )
    table.attrs["waves"] = _waves(scenario, parts, draws)
    table.attrs["per_draw"] = per_draw
    return table


def _chunk(scenario: Scenario, seed: int, start: int, stop: int, fixed: dict) -> tuple:
    """The three arms' money for draws ``start .. stop − 1``, and the loop's wave sums."""
    p = build_params(scenario, draw_inputs(scenario, seed, start, stop, fixed))
    baseline = run_cash(p, arms=(1,)).profit[0]
    plan = run_cash(p, arms=(0,), ramps=plan_ramps(p))
    loop = loop_model.run_loop(scenario, p, seed, start)
    listened = run_cash(p, arms=(0,), ramps=loop.ramps, with_cost=False).profit[0]
    oracle = run_cash(p, arms=(0,), ramps=loop_model.oracle_ramps(scenario, p), with_cost=False)
    cost = plan.cost
    plan_npv = npv(plan.profit[0] - baseline, cost, p.v)[0]
    listen_gross = npv(listened - baseline, cost, p.v)[0]
    oracle_npv = npv(oracle.profit[0] - baseline, cost, p.v)[0]
    n = loop_model.respondents(scenario, p)
    listening_cost = present_value(loop_model.monthly_cost(scenario, n), p.v)
    money = {
        "plan_npv": plan_npv,
        "listening_npv": listen_gross - listening_cost,
        "oracle_npv": oracle_npv,
        "listening_cost_pv": listening_cost,
        # The gross gain first, so no evidence gives exactly minus the cost.
        "value_of_listening": (listen_gross - plan_npv) - listening_cost,
        "evpi": oracle_npv - plan_npv,
    }
    sums = {
        "measured": np.nansum(loop.measured, axis=1),
        "asked": np.sum(~np.isnan(loop.measured), axis=1),
        "belief": loop.belief.sum(axis=1),
        "multiplier": loop.multiplier.sum(axis=1),
    }
    return money, sums


def _waves(scenario: Scenario, parts: Sequence[tuple], draws: int) -> pd.DataFrame:
    """Per wave, segment and group: the mean measured pain share (over the draws that asked),
    the mean belief after the wave and the mean effort multiplier of the group."""
    total = {key: sum(part[1][key] for part in parts) for key in parts[0][1]}
    months = loop_model.wave_months(scenario)
    segments, groups = list(scenario.segments), list(scenario.work_groups)
    rows = []
    with np.errstate(invalid="ignore", divide="ignore"):
        measured = np.where(total["asked"] > 0, total["measured"] / total["asked"], np.nan)
    for k, month in enumerate(months):
        for s, segment in enumerate(segments):
            for g, group in enumerate(groups):
                rows.append(
                    {
                        "wave": k,
                        "month": month,
                        "acted_month": month + scenario.listening.report_delay_months,
                        "segment": segment,
                        "work_group": group,
                        "prior": loop_model.prior(scenario).mean[s, g] if k == 0 else np.nan,
                        "measured": measured[k, s, g],
                        "belief": total["belief"][k, s, g] / draws,
                        "effort_multiplier": total["multiplier"][k, g] / draws,
                    }
                )
    return pd.DataFrame(rows).set_index(["wave", "segment", "work_group"])


def listening_sweep(
    scenario: Scenario | str,
    respondents: Sequence[int] = (0, 50, 100, 200, 500, 1000, 2000),
    draws: int = 1000,
    seed: int = 0,
    **options: Any,
) -> pd.DataFrame:
    """Value of listening against respondents per wave (split by segment size), paired.

    Returns a DataFrame indexed by ``respondents`` with the mean and MC error of the gross
    value (before listening's cost), the cost and the net value, and ``pays`` (net mean > 0).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    rows = []
    for count in respondents:
        variant = scenario.with_overrides({"listening.respondents_per_wave": int(count)})
        table = value_of_listening(variant, draws, seed, **options)
        net = table.attrs["per_draw"]["value_of_listening"]
        gross = net + table.attrs["per_draw"]["listening_cost_pv"]
        rows.append(
            {
                "respondents": int(count),
                "gross_value": float(gross.mean()),
                "gross_mc_error": float(gross.std(ddof=1) / np.sqrt(draws))
                if draws > 1
                else np.nan,
                "listening_cost_pv": table.loc["listening_cost_pv", "mean"],
                "value_of_listening": table.loc["value_of_listening", "mean"],
                "mc_error": table.loc["value_of_listening", "mc_error"],
                "evpi": table.loc["evpi", "mean"],
            }
        )
    frame = pd.DataFrame(rows).set_index("respondents")
    frame["pays"] = frame["value_of_listening"] > 0
    return frame


def break_even_respondents(sweep: pd.DataFrame) -> float | None:
    """Respondents per wave at which listening starts to pay: where the mean net value first
    crosses from below 0 to above, linearly between the sweep's points; the first paying point
    itself when the one before breaks even exactly (no respondents, no cost); None when it
    never pays within the sweep."""
    n = sweep.index.to_numpy(dtype=float)
    net = sweep["value_of_listening"].to_numpy()
    for k in range(len(n)):
        if net[k] > 0:
            if k == 0 or net[k - 1] >= 0:
                return float(n[k])
            return float(n[k - 1] + (n[k] - n[k - 1]) * (-net[k - 1]) / (net[k] - net[k - 1]))
    return None
