"""Workflows that call the engine many times, against one simulate() in the same process.

Run by hand: ``python benchmarks/bench_repeated.py [--draws 1000] [--workers 0]``.
Each workflow's CPU and wall time on the flagship, and its CPU as a multiple of one
``--draws``-draw ``simulate`` and of the bare recursion floor (benchmarks/measure.py) for as
many draws. The goals: ``optimize`` within 60x one simulate, ``waterfall_by_group`` within 20x
(at its default 300 draws). With ``--workers N`` the same workflows also run on a local Dask
cluster of N processes (wall time is what a cluster buys; CPU here is the client's only).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import floor, timed  # noqa: E402

import cxsim  # noqa: E402
from cxsim.analysis.attribution import waterfall_by_group, waterfall_by_lever  # noqa: E402
from cxsim.analysis.global_sensitivity import sobol  # noqa: E402
from cxsim.analysis.planning import optimize  # noqa: E402
from cxsim.analysis.sensitivity import breakeven, tornado  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def workflows(scenario, draws: int, executor=None) -> dict:
    budget = 0.7 * float(
        cxsim.simulate(scenario, draws=200, seed=0, keep="all").programme_cost.sum(axis=1).mean()
    )
    return {
        f"optimize ({draws} draws, budget 70%)": lambda: optimize(
            scenario, budget, draws=draws, seed=0, executor=executor
        ),
        "waterfall_by_group (300 draws)": lambda: waterfall_by_group(
            scenario, draws=300, executor=executor
        ),
        f"waterfall_by_group ({draws} draws)": lambda: waterfall_by_group(
            scenario, draws=draws, executor=executor
        ),
        "waterfall_by_lever (300 draws)": lambda: waterfall_by_lever(
            scenario, draws=300, executor=executor
        ),
        "breakeven (500 draws, 9-point grid)": lambda: breakeven(
            scenario, "responses.churn_reduction", draws=500, executor=executor
        ),
        "tornado": lambda: tornado(scenario, executor=executor),
        "sobol (n = 256)": lambda: sobol(scenario, n=256, executor=executor),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "retail_bank.yaml"))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args(argv)

    scenario = cxsim.load_scenario(args.scenario)
    cxsim.simulate(scenario, draws=50, seed=0)  # imports, caches
    one, _ = timed(
        lambda: cxsim.simulate(scenario, draws=args.draws, seed=0, progress=False).outcomes, 5
    )
    base = floor(scenario, args.draws)
    print(f"scenario: {scenario.name}; one {args.draws}-draw simulate: {one}")
    print(f"bare recursion floor for {args.draws} draws: {base}\n")
    print(f"{'workflow':40} {'CPU s':>8} {'wall s':>8} {'/ simulate':>11} {'/ floor':>9}")
    for name, run in workflows(scenario, args.draws).items():
        timing, _ = timed(run)
        print(
            f"{name:40} {timing.cpu:>8.2f} {timing.wall:>8.2f} {timing.cpu / one.cpu:>11.1f} "
            f"{timing.cpu / base.cpu:>9.0f}"
        )
    if args.workers:
        from cxsim.montecarlo.executors import dask_executor

        print(f"\non a local Dask cluster of {args.workers} workers (wall time)")
        with dask_executor(workers=args.workers) as executor:
            for name, run in workflows(scenario, args.draws, executor).items():
                timing, _ = timed(run)
                print(f"{name:40} {timing.wall:>8.2f} s wall")


if __name__ == "__main__":
    main()
