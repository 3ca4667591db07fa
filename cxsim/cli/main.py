"""Command line: a thin shell over the public API.

Exit codes: 0 success, 1 invalid input (the problems on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from cxsim.cli.arguments import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
)
from cxsim.cli.calibrate import add_calibrate
from cxsim.cli.optimize import add_optimize
from cxsim.cli.run import add_run, add_validate
from cxsim.cli.whatif import add_assess, add_breakeven, add_compare, add_sensitivity
from cxsim.errors import CxsimError


class _Parser(argparse.ArgumentParser):
    """argparse that exits with 2 on usage errors (its default) and prints a hint."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")


COMMANDS: list[Callable] = [
    add_run,
    add_validate,
    add_compare,
    add_sensitivity,
    add_breakeven,
    add_assess,
    add_calibrate,
    add_optimize,
]


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


def run_alone(add: Callable, command: str, argv: Sequence[str] | None = None) -> int:
    """Run one subcommand with its own small parser (``argv`` without the command name)."""
    parser = _Parser(prog="cxsim")
    add(parser.add_subparsers(dest="command", required=True, parser_class=_Parser))
    args = parser.parse_args([command, *(sys.argv[1:] if argv is None else argv)])
    return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    """Run a parsed command: invalid input exits 1 with the problems on stderr."""
    try:
        return args.handler(args)
    except CxsimError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:  # output piped into e.g. head, which stopped reading
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cxsim`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return _dispatch(args)


def entry() -> None:
    sys.exit(main())
