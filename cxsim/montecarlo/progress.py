"""A progress bar over draws, shown for runs longer than a couple of seconds when watched."""

from __future__ import annotations

import sys
import time
from typing import Any


class ProgressBar:
    """tqdm over draws; by default shown only when a run is expected to take over ~2 s and
    someone is watching (a terminal or a notebook). ``show`` True/False forces it."""

    def __init__(self, draws: int, show: bool | None):
        self.show = show
        self.draws = draws
        self.started = time.perf_counter()
        self.bar: Any = None
        self.done = 0

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is None and self._wanted():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.draws, unit="draw", desc="simulating", leave=False)
            self.bar.update(self.done - n)
        if self.bar is not None:
            self.bar.update(n)

    def _wanted(self) -> bool:
        if self.done >= self.draws:
            return False
        if self.show is not None:
            return self.show
        elapsed = time.perf_counter() - self.started
        expected = elapsed * self.draws / max(self.done, 1)
        return expected > 2.0 and _attended()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _attended() -> bool:
    """True on an interactive terminal or inside a Jupyter kernel."""
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())
