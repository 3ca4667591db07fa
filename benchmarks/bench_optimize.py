"""Time the funding optimizer on the flagship scenario with a budget that binds.

Run by hand: ``python benchmarks/bench_optimize.py [--draws 1000] [--budget-share 0.7]``.
The budget is a share of the expected spend of the scenario's own plan (all work groups at
their planned targets and starts), so the optimizer must leave something out or scale it
down. Prints CPU and wall time, plans evaluated in full, CPU per evaluation, the chosen plan
and its objective beside the scenario's own plan, and the CPU as a multiple of one simulation
of as many draws (goal: at most 60x).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import timed  # noqa: E402

import cxsim  # noqa: E402
from cxsim.analysis.planning import optimize  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "retail_bank.yaml"))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget-share", type=float, default=0.7)
    parser.add_argument("--risk", choices=["mean", "p10"], default="mean")
    args = parser.parse_args(argv)

    scenario = cxsim.load_scenario(args.scenario)
    cxsim.simulate(scenario, draws=50, seed=args.seed)  # imports, caches
    one_run, own = timed(
        lambda: cxsim.simulate(scenario, draws=args.draws, seed=args.seed, progress=False), 3
    )
    own_spend = float(own.programme_cost.sum(axis=1).mean())
    budget = args.budget_share * own_spend
    print(
        f"scenario: {scenario.name} ({len(scenario.work_groups)} work groups, "
        f"{scenario.horizon_months} months), {args.draws} draws, seed {args.seed}"
    )
    print(
        f"own plan: spend {own_spend:,.0f}, expected NPV {own.outcomes['npv'].mean():,.0f} "
        f"(one simulation {one_run})"
    )
    print(f"budget: {args.budget_share:.0%} of that = {budget:,.0f}; objective: {args.risk}\n")

    timing, result = timed(
        lambda: optimize(scenario, budget, risk=args.risk, draws=args.draws, seed=args.seed)
    )
    print(result.summary())
    ratio = timing.cpu / one_run.cpu
    print(
        f"\n{timing}, {result.evaluations_} plans evaluated in full, "
        f"{timing.cpu / result.evaluations_:.3f} s CPU per plan; frontier of "
        f"{len(result.frontier())} plans; {ratio:.0f}x the CPU of one simulation "
        f"({'within' if ratio <= 60 else 'OVER'} the 60x goal)"
    )


if __name__ == "__main__":
    main()
