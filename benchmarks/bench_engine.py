"""Time simulate() on the flagship scenario at growing numbers of draws.

Run by hand: ``python benchmarks/bench_engine.py [--draws 1 1000 10000 100000] [--repeat 3]``.
Each size runs in a fresh process so its peak memory (max resident set) is its own. Prints
wall time (best of the repeats, including the per-draw NPV, IRR and payback), time per draw,
the per-draw cost relative to the 1,000-draw run (linear growth keeps it near 1) and the peak
memory of that process.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(scenario_path: str, draws: int, repeat: int) -> dict:
    """Best-of-``repeat`` time of one size, in this process (called in a child process)."""
    import cxsim

    scenario = cxsim.load_scenario(scenario_path)
    cxsim.simulate(scenario, draws=10, seed=0)  # warm-up: imports, caches
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = cxsim.simulate(scenario, draws=draws, seed=1, progress=False)
        _ = result.outcomes  # the per-draw NPV, IRR, payback are part of a run's cost
        best = min(best, time.perf_counter() - start)
        del result
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    return {
        "draws": draws,
        "seconds": best,
        "peak_mb": peak_mb,
        "uncertain": len(scenario.uncertain_inputs()),
        "name": scenario.name,
        "segments": len(scenario.segments),
        "groups": len(scenario.work_groups),
        "months": scenario.horizon_months,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "retail_bank.yaml"))
    parser.add_argument("--draws", type=int, nargs="+", default=[1, 1000, 10000, 100000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--single", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.single is not None:
        print(json.dumps(measure(args.scenario, args.single, args.repeat)))
        return

    rows = []
    for draws in args.draws:
        repeat = args.repeat if draws <= 10000 else 1
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--scenario",
                args.scenario,
                "--single",
                str(draws),
                "--repeat",
                str(repeat),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first = rows[0]
    print(
        f"scenario: {first['name']} ({first['segments']} segments, {first['groups']} work "
        f"groups, {first['months']} months, {first['uncertain']} uncertain inputs); "
        "programme and baseline"
    )
    print(f"{'draws':>8} {'seconds':>10} {'ms/draw':>10} {'vs 1k':>8} {'peak MB':>9}")
    per_1k = next((r["seconds"] / r["draws"] for r in rows if r["draws"] == 1000), None)
    for r in rows:
        per_draw = r["seconds"] / r["draws"]
        ratio = f"{per_draw / per_1k:.2f}" if per_1k else "-"
        print(
            f"{r['draws']:>8} {r['seconds']:>10.3f} {per_draw * 1e3:>10.4f} {ratio:>8} "
            f"{r['peak_mb']:>9.0f}"
        )


if __name__ == "__main__":
    main()
