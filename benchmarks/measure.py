"""What every benchmark measures, the same way: CPU beside wall time, a floor, peak memory.

Shared machines are noisy: wall time moves with the neighbours' load, CPU time (user + system,
``resource.getrusage``) much less, and a ratio to a floor measured in the same process moves
least. The floor is the bare customer recursion of docs/model.md §5 — survivors, newcomers
and the new state, for both arms, vectorised over draws, nothing else — on arrays of the
scenario's own shape: what any implementation of the model must at least do.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


@dataclass
class Timing:
    cpu: float  # seconds
    wall: float  # seconds

    def __str__(self) -> str:
        return f"{self.cpu:8.3f} s CPU {self.wall:8.3f} s wall"


def timed(run: Callable[[], object], repeat: int = 1) -> tuple[Timing, object]:
    """The best CPU time over ``repeat`` runs (with its wall time) and the last run's value."""
    best: Timing | None = None
    value = None
    for _ in range(repeat):
        cpu, wall = cpu_seconds(), time.perf_counter()
        value = run()
        timing = Timing(cpu_seconds() - cpu, time.perf_counter() - wall)
        if best is None or timing.cpu < best.cpu:
            best = timing
    assert best is not None
    return best, value


def shape_of(scenario) -> tuple[int, int]:
    """(latent classes over all segments, months) of a scenario."""
    classes = sum(scenario.latent_classes if s.sbg else 1 for s in scenario.segments.values())
    return classes, scenario.horizon_months


def floor(scenario, draws: int, repeat: int = 3) -> Timing:
    """CPU of the bare two-arm recursion for ``draws`` draws of the scenario's shape."""
    classes, months = shape_of(scenario)
    rng = np.random.default_rng(0)
    stay = 1.0 - 0.02 * rng.random((2, classes, draws))
    inflow = rng.random((2, classes, draws))
    mix = rng.random((classes, draws))

    def recursion() -> float:
        state = np.ones((2, classes, draws))
        survivors = np.empty_like(state)
        for _ in range(months):
            np.multiply(state, stay, out=survivors)
            np.multiply(inflow, mix, out=state)
            state += survivors
        return float(state[0, 0, 0])

    timing, _ = timed(recursion, repeat)
    return timing
