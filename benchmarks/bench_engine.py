"""Time simulate() on the flagship scenario at growing numbers of draws.

Run by hand: ``python benchmarks/bench_engine.py [--draws 1 1000 10000] [--repeat 3]``.
Prints wall time (best of the repeats), time per draw, the ratio of per-draw cost to the
1,000-draw run (linear growth keeps it near 1) and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import cxsim

ROOT = Path(__file__).resolve().parent.parent


def peak_mb() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / (1024 * 1024) if sys.platform == "darwin" else usage / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "retail_bank.yaml"))
    parser.add_argument("--draws", type=int, nargs="+", default=[1, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    scenario = cxsim.load_scenario(args.scenario)
    cxsim.simulate(scenario, draws=10, seed=0)  # warm-up: imports, caches
    print(
        f"scenario: {scenario.name} ({len(scenario.segments)} segments, "
        f"{len(scenario.work_groups)} work groups, {scenario.horizon_months} months, "
        f"{len(scenario.uncertain_inputs())} uncertain inputs)"
    )
    print(f"{'draws':>8} {'seconds':>10} {'ms/draw':>10} {'vs 1k':>8} {'peak MB':>9}")
    per_draw_1k = None
    for draws in args.draws:
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = cxsim.simulate(scenario, draws=draws, seed=1, progress=False)
            _ = result.outcomes  # the per-draw NPV, IRR, payback are part of a run's cost
            best = min(best, time.perf_counter() - start)
            del result
        per_draw = best / draws
        if draws == 1000:
            per_draw_1k = per_draw
        ratio = f"{per_draw / per_draw_1k:.2f}" if per_draw_1k else "-"
        print(f"{draws:>8} {best:>10.3f} {per_draw * 1e3:>10.4f} {ratio:>8} {peak_mb():>9.0f}")


if __name__ == "__main__":
    main()
