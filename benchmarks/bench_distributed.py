"""What a Dask cluster costs and buys: the numbers behind the sizing advice in docs/what-if.md.

Run by hand: ``python benchmarks/bench_distributed.py [--workers 2] [--draws 40000]``
(needs ``pip install "cxsim[distributed]"``). Prints, for the flagship:

- a task's round trip on the cluster with no work (the overhead each task must amortise);
- one block of 1,024 draws summarised in this process (CPU), and the size of what a worker
  sends back for it (pickled);
- ``simulate(draws, keep="summary")`` serially and on a local cluster of ``--workers``
  processes: wall time, speed-up, and whether the outcomes are bit-identical.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import timed  # noqa: E402

import cxsim  # noqa: E402
from cxsim.model.responses import LEVERS  # noqa: E402
from cxsim.montecarlo.executors import dask_executor  # noqa: E402
from cxsim.montecarlo.tasks import RunSpec, summarise_range  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _nothing() -> None:
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "retail_bank.yaml"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--draws", type=int, default=40000)
    args = parser.parse_args(argv)

    scenario = cxsim.load_scenario(args.scenario)
    spec = RunSpec(scenario=scenario, seed=1, groups_on=None, capabilities_on=None, levers=LEVERS)
    summarise_range(spec, 0, 1024)  # imports, caches
    block, summaries = timed(lambda: summarise_range(spec, 0, 1024), 3)
    size = len(pickle.dumps(summaries))
    print(f"scenario: {scenario.name}")
    print(f"one block of 1,024 draws, summarised here: {block}; sent back: {size / 1e6:.2f} MB")

    serial, reference = timed(
        lambda: cxsim.simulate(scenario, draws=args.draws, seed=1, keep="summary", progress=False)
    )
    print(f"{args.draws:,} draws serially: {serial}")
    with dask_executor(workers=args.workers) as executor:
        started = time.perf_counter()
        for _ in range(200):
            executor.submit(_nothing).result()
        trip = (time.perf_counter() - started) / 200
        print(f"empty task round trip on the cluster: {trip * 1e3:.1f} ms")
        cxsim.simulate(scenario, draws=2048, seed=1, executor=executor)  # workers warm up
        remote, result = timed(
            lambda: cxsim.simulate(scenario, draws=args.draws, seed=1, executor=executor)
        )
    same = result.outcomes.equals(reference.outcomes)
    print(
        f"{args.draws:,} draws on {args.workers} workers: {remote.wall:.2f} s wall "
        f"(speed-up {serial.wall / remote.wall:.2f}x; outcomes bit-identical: {same})"
    )


if __name__ == "__main__":
    main()
