"""What the command-line subcommands share: exit codes, argument types, ``--set`` overrides."""

from __future__ import annotations

import argparse
import contextlib
import math
from pathlib import Path

from cxsim.errors import Problem, ScenarioError

# 0 success, 1 invalid input (the problems on stderr), 2 usage error (argparse's own code).
EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def whole_number(minimum: int):
    """An argparse type accepting whole numbers ≥ ``minimum`` (usage error otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = f"whole number ≥ {minimum}"
    return parse


positive_int = whole_number(1)
non_negative_int = whole_number(0)


def positive_number(text: str) -> float:
    """An argparse type accepting a finite number > 0 (usage error otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text}")
    return value


positive_number.__name__ = "number > 0"


def add_executor(p) -> None:
    """``--workers N`` / ``--scheduler ADDRESS``: where the work runs (Dask, optional)."""
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="run on a local Dask cluster of N worker processes (needs cxsim[distributed])",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://10.0.0.5:8786",
    )


def executor_of(args: argparse.Namespace):
    """A context giving the executor ``--workers``/``--scheduler`` ask for (None: here)."""
    workers, scheduler = getattr(args, "workers", None), getattr(args, "scheduler", None)
    if workers is None and scheduler is None:
        return contextlib.nullcontext(None)
    from cxsim.montecarlo.executors import dask_executor

    return dask_executor(workers=workers, scheduler=scheduler)


def add_set(p) -> None:
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override an input by dotted path, e.g. segments.core.arpu=50 or "
        "'responses.churn_reduction={dist: pert, min: 0.1, mode: 0.2, max: 0.3}' "
        "(repeatable; VALUE is YAML)",
    )


def parse_sets(items: list[str]) -> dict:
    import yaml

    overrides = {}
    for item in items:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise ScenarioError(
                Problem("--set", item, "expected PATH=VALUE", item, "e.g. segments.core.arpu=50")
            )
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ScenarioError(
                Problem(
                    "--set",
                    path.strip(),
                    f"value is not valid YAML: {exc}",
                    text,
                    "a number or a YAML flow mapping",
                )
            ) from None
        overrides[path.strip()] = value
    return overrides


def load_scenario_with_sets(path: Path, sets: list[str]):
    from cxsim.scenario import load_scenario

    scenario = load_scenario(path)
    if sets:
        scenario = scenario.with_overrides(parse_sets(sets), source="--set")
    return scenario


def write_chart(draw, path: Path) -> None:
    """Draw a chart (``draw()`` returns its Axes), save it as ``path`` and say so."""
    from cxsim.outputs.report import save_figure

    save_figure(draw(), path)
    print(f"Wrote {path}")
