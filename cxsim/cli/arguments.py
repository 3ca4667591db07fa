"""What the command-line subcommands share: exit codes, argument types, ``--set`` overrides."""

from __future__ import annotations

import argparse
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
