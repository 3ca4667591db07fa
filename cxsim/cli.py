"""Command line: a thin shell over the public API.

Exit codes: 0 success, 1 invalid input (the problems on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cxsim.errors import CxsimError, ScenarioError

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that exits with 2 on usage errors (its default) and prints a hint."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")


def _add_run(sub) -> None:
    p = sub.add_parser(
        "run",
        help="simulate a scenario and print its business case",
        description="Simulate a scenario file (programme against the no-programme baseline), "
        "print the business case and optionally write the tables as CSV.",
    )
    p.add_argument("file", type=Path, help="scenario YAML file")
    p.add_argument("--out", type=Path, help="folder for CSV tables and the resolved scenario")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    p.add_argument(
        "--seed",
        type=_non_negative_int,
        default=None,
        help="random seed (default: a fresh one, printed)",
    )
    p.add_argument(
        "--draws",
        type=_positive_int,
        default=None,
        help="Monte Carlo draws (default: 1, or 2000 when inputs are uncertain)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_cmd_run)


def _add_validate(sub) -> None:
    p = sub.add_parser(
        "validate",
        help="check scenario files and report every problem",
        description="Validate scenario files; print OK per valid file and every problem of "
        "the others. Exit 1 if any file is invalid.",
    )
    p.add_argument("files", type=Path, nargs="+", help="scenario YAML files")
    p.set_defaults(handler=_cmd_validate)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _default_draws(scenario) -> int:
    return 2000 if scenario.uncertain_inputs() else 1


def _cmd_run(args: argparse.Namespace) -> int:
    from cxsim.montecarlo import simulate
    from cxsim.report import business_case, check_output_dir, write_results
    from cxsim.scenario import load_scenario

    scenario = load_scenario(args.file)
    if args.out is not None:
        check_output_dir(args.out, [args.file], args.force)
    draws = args.draws or _default_draws(scenario)
    result = simulate(scenario, draws=draws, seed=args.seed, progress=False if args.quiet else None)
    print(business_case(result))
    if args.out is not None:
        written = write_results(result, args.out, force=args.force, inputs=[args.file])
        print(f"\nWrote {len(written)} files to {args.out}/: " + ", ".join(p.name for p in written))
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from cxsim.scenario import load_scenario

    status = EXIT_OK
    for path in args.files:
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            print(str(exc), file=sys.stderr)
            status = EXIT_INVALID
        else:
            print(
                f"{path}: OK ({len(scenario.segments)} segments, "
                f"{len(scenario.work_groups)} work groups, "
                f"{len(scenario.uncertain_inputs())} uncertain inputs)"
            )
    return status


COMMANDS: list[Callable] = [_add_run, _add_validate]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cxsim",
        description="Simulate the return on customer-experience work: leading indicators per "
        "work group → retention, loyalty, cost to serve, CLV → NPV, ROI and payback.",
    )
    from cxsim._version import __version__

    parser.add_argument("--version", action="version", version=f"cxsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cxsim`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.handler(args)
    except CxsimError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    sys.exit(main())
