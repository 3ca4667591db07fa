"""What the command-line subcommands share: exit codes, argument types, ``--set`` overrides."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from pathlib import Path

from cxsim.errors import CxsimError, Problem, ScenarioError

# 0 success; 1 invalid input or data, or a refused run (the reason on stderr); 2 usage error
# (argparse's own code); 130 interrupted (Ctrl-C, 128 + SIGINT); 143 terminated (128 + SIGTERM).
EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143
EXIT_CODES = (
    "Exit codes: 0 success; 1 invalid input or data, or a refused run (the reason on stderr, "
    "one line per problem); 2 usage error; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM). "
    "A run that stops early writes nothing: its output appears whole or not at all."
)


class UsageError(CxsimError):
    """A command line that parses but cannot be right (exit 2, as argparse's own errors)."""


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


_BINARY = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def memory_size(text: str) -> int:
    """An argparse type for an amount of memory: bytes, or K, M, G, T (binary, as ``free``
    and container limits count: 2G = 2 GiB), with an optional ``B`` or ``iB``."""
    cleaned = text.strip().upper().replace("_", "")
    for tail in ("IB", "B"):
        if cleaned.endswith(tail) and cleaned[: -len(tail)][-1:] in "KMGT":
            cleaned = cleaned[: -len(tail)]
            break
    unit = cleaned[-1:] if cleaned[-1:] in "KMGT" else ""
    try:
        value = float(cleaned[: len(cleaned) - len(unit)]) * _BINARY[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an amount of memory such as 2G, 500M or 1000000 (bytes), got {text!r}"
        ) from None
    if not math.isfinite(value) or value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte, got {text!r}")
    return int(value)


memory_size.__name__ = "memory size"


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


def assignment(text: str) -> str:
    """An argparse type for ``PATH=VALUE`` (usage error without ``=`` or without a path)."""
    path, sep, _ = text.partition("=")
    if not sep or not path.strip():
        raise argparse.ArgumentTypeError(
            f"expected PATH=VALUE, e.g. segments.core.arpu=50, got {text!r}"
        )
    return text


assignment.__name__ = "PATH=VALUE"


def add_set(p) -> None:
    p.add_argument(
        "--set",
        action="append",
        type=assignment,
        default=[],
        metavar="PATH=VALUE",
        help="override an input by dotted path, e.g. segments.core.arpu=50 or "
        "'responses.churn_reduction={dist: pert, min: 0.1, mode: 0.2, max: 0.3}' "
        "(repeatable; VALUE is YAML)",
    )


def parse_sets(items: list[str]) -> dict:
    # The scenario files' own YAML reader: the same limits (depth, size, number syntax such as
    # 1e5) and a located error instead of a traceback.
    from cxsim.scenario.reading import parse_yaml

    overrides = {}
    for item in items:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise ScenarioError(
                Problem("--set", item, "expected PATH=VALUE", item, "e.g. segments.core.arpu=50")
            )
        try:
            overrides[path.strip()] = parse_yaml(text, "--set")
        except ScenarioError as exc:
            raise ScenarioError(
                Problem(
                    "--set",
                    path.strip(),
                    f"value is not valid YAML: {exc.problems[0].message}",
                    text,
                    "a number or a YAML flow mapping",
                )
            ) from None
    return overrides


def load_scenario_with_sets(path: Path, sets: list[str]):
    from cxsim.scenario import load_scenario

    scenario = load_scenario(path)
    if sets:
        scenario = scenario.with_overrides(parse_sets(sets), source="--set")
    return scenario


def say_note(note: str) -> None:
    """A note about the files (what a stopped run left and was cleaned up), on stderr."""
    print(f"note: {note}", file=sys.stderr)


def chart_outputs(scenario, file: Path, charts: dict[str, Path | None]):
    """The chart files a command writes (option → path), as checked, claimable outputs:
    never an input of the run, a parent that can be written; existing charts are replaced."""
    from cxsim.outputs.folders import Outputs, run_inputs

    outputs = Outputs(run_inputs(scenario, file), on_note=say_note)
    for option, path in charts.items():
        outputs.add_file(path, option, replace=True)
    return outputs


def write_chart(draw, path: Path, outputs=None) -> None:
    """Draw a chart (``draw()`` returns its Axes), save it as ``path`` and say so; with the
    command's claimed ``outputs``, through their staging."""
    from cxsim.outputs.report import save_figure

    if outputs is None:
        save_figure(draw(), path)
    else:
        with outputs.writing() as place:
            save_figure(draw(), place(path))
    print(f"Wrote {path}")
