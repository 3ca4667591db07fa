"""``cxsim listening FILE``: what a listening programme is worth, and from how many respondents
it pays. A thin shell over :func:`cxsim.analysis.listening.value_of_listening` and
:func:`~cxsim.analysis.listening.listening_sweep`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from cxsim.cli.arguments import (
    EXIT_OK,
    add_executor,
    chart_outputs,
    executor_of,
    non_negative_int,
    positive_int,
    write_chart,
)
from cxsim.errors import CxsimError

SWEEP = (0, 50, 100, 200, 500, 1000, 2000)


def add_listening(sub) -> None:
    """Add ``listening FILE`` to a subparsers object (see cxsim.cli)."""
    p = sub.add_parser(
        "listening",
        help="what the scenario's listening programme is worth, and when it pays",
        description="Value the scenario's listening: block: the NPV of the plan as written, of "
        "the listening loop (net of its cost) and of the oracle that knows the pain shares, "
        "on the same draws; then the value against respondents per wave (split by segment "
        "size) and the number at which listening pays.",
    )
    p.add_argument("file", type=Path, help="scenario YAML file with a listening: block")
    p.add_argument("--draws", type=positive_int, default=1000, help="draws (1000)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed (0)")
    p.add_argument(
        "--respondents",
        type=_counts,
        default=SWEEP,
        metavar="N,N,...",
        help="respondents per wave to sweep (default " + ",".join(map(str, SWEEP)) + ")",
    )
    p.add_argument("--plot", type=Path, metavar="PNG", help="write the sweep's chart")
    add_executor(p)
    p.set_defaults(handler=_cmd_listening)


def _counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers such as 0,100,500, got {text!r}"
        ) from None
    if not counts or counts[0] < 0:
        raise argparse.ArgumentTypeError(f"expected whole numbers ≥ 0, got {text!r}")
    return counts


def _cmd_listening(args: argparse.Namespace) -> int:
    from cxsim.analysis.listening import break_even_respondents, listening_sweep, value_of_listening
    from cxsim.outputs.listening_plots import plot_listening_sweep
    from cxsim.scenario import load_scenario

    if args.plot is not None and args.plot.suffix.lower() != ".png":
        raise CxsimError(f"{args.plot}: --plot needs a file name ending in .png")
    scenario = load_scenario(args.file)
    outputs = chart_outputs(scenario, args.file, {"--plot": args.plot})
    with outputs, executor_of(args) as executor:
        table = value_of_listening(scenario, args.draws, args.seed, executor=executor)
        print(f"Value of listening: {scenario.name} ({args.draws} draws, seed {args.seed})")
        print(table.to_string(float_format=lambda x: f"{x:,.0f}"))
        sweep = listening_sweep(
            scenario, args.respondents, args.draws, args.seed, executor=executor
        )
        print("\nAgainst respondents per wave (same draws):")
        print(sweep.to_string(float_format=lambda x: f"{x:,.0f}"))
        pays = break_even_respondents(sweep)
        if pays is None:
            print(
                "\nListening does not pay within the sweep: its cost exceeds what the evidence "
                "is worth at every number of respondents tried."
            )
        else:
            print(f"\nListening pays from about {pays:,.0f} respondents per wave.")
        if args.plot is not None:
            write_chart(lambda: plot_listening_sweep(sweep), args.plot, outputs)
    return EXIT_OK


def main_listening(argv: Sequence[str] | None = None) -> int:
    """Run ``listening`` alone, as ``cxsim listening ...`` would; returns the exit code."""
    from cxsim.cli.main import run_alone

    return run_alone(add_listening, "listening", argv)
