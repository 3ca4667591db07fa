"""simulate() on the flagship at growing numbers of draws: CPU, wall, floor ratio, memory.

Run by hand: ``python benchmarks/bench_engine.py [--draws 1000 10000 50000 100000 1000000]``.
Each size runs in a fresh process, so its peak memory is its own; in that process the bare
recursion floor (benchmarks/measure.py) is measured first. Printed per size: what the result
kept (``keep="auto"``: every array up to 256 MB of them, summaries beyond), CPU and wall time
of ``simulate`` plus the per-draw outcomes, CPU per draw, that CPU over the floor's (the
number to compare across machines), CPU per draw relative to the 50,000-draw run, and peak
resident memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import floor, peak_mb, timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FLOOR_DRAWS = 1024  # the floor per draw, measured on one engine chunk's worth of draws


def measure(scenario_path: str, draws: int, repeat: int, keep: str) -> dict:
    """One size in this process (called in a child process)."""
    import cxsim

    scenario = cxsim.load_scenario(scenario_path)
    cxsim.simulate(scenario, draws=10, seed=0, progress=False)  # imports, caches
    base = floor(scenario, FLOOR_DRAWS)

    def run():
        result = cxsim.simulate(scenario, draws=draws, seed=1, progress=False, keep=keep)
        _ = result.outcomes  # the per-draw NPV, IRR and paybacks are part of a run's cost
        return result.keep

    timing, kept = timed(run, repeat)
    return {
        "draws": draws,
        "keep": kept,
        "cpu": timing.cpu,
        "wall": timing.wall,
        "floor_per_draw": base.cpu / FLOOR_DRAWS,
        "peak_mb": peak_mb(),
        "name": scenario.name,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "retail_bank.yaml"))
    parser.add_argument(
        "--draws", type=int, nargs="+", default=[1000, 10000, 50000, 100000, 1000000]
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per size up to 10,000 draws")
    parser.add_argument("--keep", default="auto", choices=["auto", "all", "summary"])
    parser.add_argument("--single", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.single is not None:
        print(json.dumps(measure(args.scenario, args.single, args.repeat, args.keep)))
        return

    rows = []
    for draws in args.draws:
        command = [sys.executable, __file__, "--scenario", args.scenario, "--keep", args.keep]
        command += ["--single", str(draws), "--repeat", str(args.repeat if draws <= 10000 else 1)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"  measured {draws:,} draws", file=sys.stderr)
    print(f"scenario: {rows[0]['name']}; programme and baseline arms; keep={args.keep}")
    print(
        f"{'draws':>9} {'kept':>8} {'CPU s':>9} {'wall s':>9} {'CPU µs/draw':>12} "
        f"{'/ floor':>8} {'vs 50k':>7} {'peak MB':>8}"
    )
    per_50k = next((r["cpu"] / r["draws"] for r in rows if r["draws"] == 50000), None)
    for r in rows:
        per_draw = r["cpu"] / r["draws"]
        ratio = f"{per_draw / per_50k:.2f}" if per_50k else "-"
        print(
            f"{r['draws']:>9,} {r['keep']:>8} {r['cpu']:>9.2f} {r['wall']:>9.2f} "
            f"{per_draw * 1e6:>12.1f} {per_draw / r['floor_per_draw']:>8.1f} {ratio:>7} "
            f"{r['peak_mb']:>8.0f}"
        )


if __name__ == "__main__":
    main()
