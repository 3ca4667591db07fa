"""A run's peak memory, estimated before anything is allocated, and the guard that refuses it.

A run keeps, per draw, either every monthly array (``keep="all"``: :func:`bytes_per_draw`
of stored metrics and series, plus the per-draw lines its outcomes are worked out from) or
the outcomes and yearly lines only (``keep="summary"``), and it works on one engine chunk
(``keep="all"``) or one block of :data:`~cxsim.outputs.streamed.BLOCK` draws (``"summary"``)
at a time. :func:`estimate_peak` adds these up with coefficients measured with
``tracemalloc`` on the flagship and on variants of it: on 16 runs (1 and 4 segments, 36 to
120 months, 300 to 20,000 draws, both ``keep``) the estimate was between 5% below and 15%
above the measured peak (``tests/test_memory_estimate.py`` re-measures three). The figure is
what the run allocates, beyond the ~100 MB the interpreter and libraries already hold.
:func:`check_memory` compares it with the memory this process may still take
(``MemAvailable`` in ``/proc/meminfo`` and a cgroup's ``memory.max`` less its
``memory.current``) or a ``max_memory`` given by the user, and refuses a run that would not
fit with the estimate and the way out.

With an executor the blocks run in the workers, which return summaries: the estimate counts
this process only (the outcomes and yearly lines of every draw).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cxsim.errors import CxsimError
from cxsim.model.responses import LEVERS
from cxsim.montecarlo.tasks import bytes_per_draw, default_chunk
from cxsim.outputs.streamed import BLOCK
from cxsim.outputs.views import YEARLY
from cxsim.scenario import Scenario

# Measured coefficients (see the module docstring). A kept draw costs its stored arrays and
# the (draw, month) lines of cash and cost its outcomes are worked out from (in units of
# bytes_per_draw); the engine works on about 40 float64 numbers per draw, segment and month of
# the chunk it runs (temporaries of the monthly recursion, inputs, the chunk's outputs).
_KEPT_PER_DRAW = 1.04
_ENGINE_BYTES = 40 * 8
# Per draw of a summary run: outcome columns and yearly lines, each held twice while the
# blocks are joined, and each block's monthly statistics (mean, m2, three quantiles).
_OUTCOME_COLUMNS = 14
_STAT_ARRAYS = 5
#: Memory every run takes besides its arrays (engine set-up, inputs, small tables).
BASE_BYTES = 2 * 2**20

_MEMINFO = Path("/proc/meminfo")
_CGROUP = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Footprint:
    """A run's estimated peak memory and what it is made of."""

    peak: int  # bytes
    per_draw: int  # bytes each draw adds
    working: int  # bytes that do not grow with the draws

    def draws_within(self, limit: float) -> int:
        """Most draws whose estimate stays within ``limit`` bytes."""
        return max(0, int((limit - self.working) // max(1, self.per_draw)))


def estimate_peak(
    scenario: Scenario, draws: int, keep: str, chunk: int = 0, executor=None
) -> Footprint:
    """Estimated peak memory of a run of ``draws`` draws keeping ``keep`` ("all" or "summary"),
    ``chunk`` draws per engine call (0: the default)."""
    kept = bytes_per_draw(scenario)
    chunk = chunk or default_chunk(scenario)
    engine = _ENGINE_BYTES * len(scenario.segments) * scenario.horizon_months
    if keep == "all":
        per_draw = _KEPT_PER_DRAW * kept
        working = engine * min(draws, chunk)
    else:
        years = -(-scenario.horizon_months // 12)
        lines = len(YEARLY) + len(LEVERS)
        per_draw = 2 * 8 * (_OUTCOME_COLUMNS + lines * years)
        per_draw += _STAT_ARRAYS * kept / BLOCK
        # One block's arrays and one engine chunk at a time, in the workers with an executor.
        block = 0 if executor is not None else min(draws, BLOCK)
        working = _KEPT_PER_DRAW * kept * block + engine * min(block, chunk)
    working += BASE_BYTES
    return Footprint(int(working + per_draw * draws), int(per_draw), int(working))


def available_memory() -> tuple[int, str] | None:
    """Bytes this process may still take and where that figure comes from (None: unknown)."""
    found: list[tuple[int, str]] = []
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append((int(line.split()[1]) * 1024, "MemAvailable in /proc/meminfo"))
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = (_CGROUP / "memory.max").read_text().strip()
        if limit != "max":
            used = int((_CGROUP / "memory.current").read_text().strip())
            found.append((max(0, int(limit) - used), "the container's memory.max less its use"))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def check_max_memory(max_memory) -> int | None:
    """``max_memory`` as a number of bytes, or a clear error."""
    if max_memory is None:
        return None
    if isinstance(max_memory, bool) or not isinstance(max_memory, int) or max_memory < 1:
        raise CxsimError(
            f"max_memory must be a whole number of bytes ≥ 1, e.g. 2 * 2**30 for 2 GiB "
            f"(got {max_memory!r})"
        )
    return int(max_memory)


def check_memory(
    footprint: Footprint, draws: int, keep: str, max_memory: int | None, available=None
) -> None:
    """Refuse a run whose estimated peak exceeds ``max_memory`` or the memory available."""
    limits = [] if max_memory is None else [(max_memory, "max_memory")]
    free = available_memory() if available is None else available
    if free is not None:
        limits.append(free)
    if not limits:
        return
    limit, source = min(limits)
    if footprint.peak <= limit:
        return
    fits = footprint.draws_within(limit)
    ways = []
    if keep == "all":
        ways.append("keep='summary' (cxsim run --keep summary: no monthly arrays kept)")
    ways.append(f"at most {fits:,} draws" if fits >= 1 else "a smaller scenario")
    if source == "max_memory":
        ways.append("a larger max_memory (--max-memory)")
    ways[-1:] = [" or ".join(ways[-2:])] if len(ways) > 1 else ways[-1:]
    if len(ways) > 1:
        del ways[-2]
    raise CxsimError(
        f"{draws:,} draws keeping {keep!r} would need about {_size(footprint.peak)} of memory "
        f"(estimated before running), more than the {_size(limit)} allowed by {source}: "
        f"use {', '.join(ways)}"
    )


def fits(footprint: Footprint, max_memory: int | None, available=None) -> bool:
    """Whether a run of this footprint fits ``max_memory`` and the memory available."""
    free = available_memory() if available is None else available
    limits = [x for x in (max_memory, None if free is None else free[0]) if x is not None]
    return all(footprint.peak <= limit for limit in limits)


def _size(n: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n / 2**10:,.0f} KiB"
