"""Command line: a thin shell over the public API.

Exit codes (:data:`~cxsim.cli.arguments.EXIT_CODES`): 0 success; 1 invalid input or data, or
a refused run (one line per problem on stderr, never a traceback); 2 usage error; 130
interrupted (Ctrl-C); 143 terminated (SIGTERM). An interrupted or terminated run removes what
it was writing and releases the paths it claimed.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence

from cxsim.cli.arguments import (
    EXIT_CODES,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    UsageError,
)
from cxsim.cli.calibrate import add_calibrate
from cxsim.cli.listening import add_listening
from cxsim.cli.optimize import add_optimize
from cxsim.cli.run import add_run, add_validate
from cxsim.cli.whatif import add_assess, add_breakeven, add_compare, add_sensitivity
from cxsim.errors import CxsimError


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM, so that the code writing outputs unwinds (its
    staging is removed, its claims released) before the process exits 143."""


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
    add_listening,
]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cxsim",
        description="Simulate the return on customer-experience work: leading indicators per "
        "work group → retention, loyalty, cost to serve, CLV → NPV, ROI and payback.",
        epilog=EXIT_CODES,
    )
    from cxsim._version import __version__

    parser.add_argument("--version", action="version", version=f"cxsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in COMMANDS:
        add(sub)
    _add_epilogs(sub)
    return parser


def _add_epilogs(sub) -> None:
    for command in sub.choices.values():
        command.epilog = f"{command.epilog}\n\n{EXIT_CODES}" if command.epilog else EXIT_CODES


def run_alone(add: Callable, command: str, argv: Sequence[str] | None = None) -> int:
    """Run one subcommand with its own small parser (``argv`` without the command name)."""
    parser = _Parser(prog="cxsim")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add(sub)
    _add_epilogs(sub)
    args = parser.parse_args([command, *(sys.argv[1:] if argv is None else argv)])
    return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    """Run a parsed command, turning every expected failure into a message and an exit code."""
    try:
        with _terminate_on_sigterm():
            return args.handler(args)
    except UsageError as exc:
        print(f"cxsim {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CxsimError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:  # output piped into e.g. head, which stopped reading
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:  # one the command did not expect; still a line, not a traceback
        where = f"{exc.filename}: " if exc.filename else "cxsim: "
        print(f"{where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
    except MemoryError:
        print(
            "cxsim: out of memory; run fewer --draws, or --keep summary to keep only "
            "per-draw outcomes and monthly bands",
            file=sys.stderr,
        )
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("terminated (SIGTERM)", file=sys.stderr)
        return EXIT_TERMINATED


@contextlib.contextmanager
def _terminate_on_sigterm() -> Iterator[None]:
    """While a command runs, SIGTERM raises :class:`Terminated` (once: a second one during
    the clean-up is ignored) instead of ending the process where it stands."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
