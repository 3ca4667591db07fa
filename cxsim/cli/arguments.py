"""What the command-line subcommands share: exit codes and argparse ``type=`` callables."""

from __future__ import annotations

import argparse

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
