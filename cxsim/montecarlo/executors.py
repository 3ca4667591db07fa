"""Running tasks in order on any ``concurrent.futures.Executor`` — or a Dask cluster.

cxsim splits work into tasks big enough to amortise their overhead (thousands of draws, or
one batch of plans) and gathers their (small, reduced) results *in task order*, so the
numbers never depend on which worker finished first. Any ``concurrent.futures.Executor``
works: a ``ProcessPoolExecutor``, a Dask client's ``client.get_executor()``.
:func:`dask_executor` starts a local Dask cluster (``--workers N``) or joins one
(``--scheduler ADDRESS``); Dask retries a task whose worker died.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from typing import Any

from cxsim.errors import CxsimError

# Exceptions (by class name) that mean the executor or a worker failed, not cxsim's code.
_EXECUTOR_FAILURES = {
    "BrokenExecutor",
    "BrokenProcessPool",
    "BrokenThreadPool",
    "KilledWorker",
    "CommClosedError",
    "CancelledError",
    "FutureCancelledError",
}
# Tasks a worker (thread, process or Dask worker) keeps in flight.
_PER_WORKER = 2


def check_executor(executor: Any) -> Executor | None:
    """``executor`` if it can take tasks (an Executor, or anything with ``submit``)."""
    if (
        executor is None
        or isinstance(executor, Executor)
        or callable(getattr(executor, "submit", None))
    ):
        return executor
    raise CxsimError(
        f"executor must be a concurrent.futures.Executor (got {type(executor).__name__}); "
        "for Dask use client.get_executor()"
    )


def workers_of(executor: Executor | None) -> int:
    """How many tasks the executor runs at once (1 without an executor)."""
    if executor is None:
        return 1
    count = getattr(executor, "_max_workers", None)
    client = getattr(executor, "_client", None)
    if count is None and client is not None:
        try:
            count = sum(client.nthreads().values())
        except Exception:  # noqa: BLE001 - a count is a hint for batching only
            count = None
    return max(1, int(count or 2))


def ordered(executor: Executor | None, task: Callable, arguments: Iterable[tuple]) -> Iterator[Any]:
    """``task(*args)`` for each ``args``, yielded in order.

    Without an executor the tasks run here, one after the other. With one, a few tasks per
    worker are kept in flight; stopping the iteration early (a target precision reached)
    cancels those not yet started. A failed executor or a lost worker becomes a CxsimError;
    cxsim's own errors from a task come through unchanged.
    """
    if executor is None:
        for args in arguments:
            yield task(*args)
        return
    pending: deque = deque()
    source = iter(arguments)
    window = _PER_WORKER * workers_of(executor)

    def fill() -> None:
        while len(pending) < window:
            args = next(source, None)
            if args is None:
                return
            pending.append(executor.submit(task, *args))

    try:
        fill()
        while pending:
            future = pending.popleft()
            try:
                result = future.result()
            except CxsimError:
                raise
            except Exception as exc:
                if type(exc).__name__ in _EXECUTOR_FAILURES or isinstance(exc, OSError):
                    raise CxsimError(
                        f"the executor failed while running cxsim's tasks "
                        f"({type(exc).__name__}: {exc}); nothing was written. Run again, or "
                        "check the workers (memory, network)"
                    ) from exc
                raise
            fill()
            yield result
    finally:
        for future in pending:
            future.cancel()


@contextlib.contextmanager
def dask_executor(
    workers: int | None = None, scheduler: str | None = None, *, retries: int = 2, timeout=None
):
    """An executor on a Dask cluster: a new local one with ``workers`` processes, or the one
    whose scheduler is at ``scheduler`` (e.g. ``tcp://10.0.0.5:8786``).

    Tasks whose worker dies are retried ``retries`` times. Joining a scheduler waits
    ``timeout`` (default: Dask's ``distributed.comm.timeouts.connect``, 30 s, which
    ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s`` changes) and then fails clearly. Needs
    the ``distributed`` extra: ``pip install "cxsim[distributed]"``.
    """
    if (workers is None) == (scheduler is None):
        raise CxsimError("give either a number of workers or a scheduler address, not both")
    if workers is not None and workers < 1:
        raise CxsimError(f"workers must be at least 1 (got {workers})")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise CxsimError(
            'the distributed engine needs Dask: pip install "cxsim[distributed]"'
        ) from None
    cluster = None
    try:
        if scheduler is not None:
            client = Client(scheduler, **({} if timeout is None else {"timeout": timeout}))
        else:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: never clash with a running cluster
                silence_logs=50,  # CRITICAL only: workers' chatter is not the user's business
            )
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        where = f"the Dask scheduler at {scheduler}" if scheduler else "a local Dask cluster"
        raise CxsimError(f"cannot reach {where} ({type(exc).__name__}: {exc})") from None
    try:
        yield client.get_executor(retries=retries, pure=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
