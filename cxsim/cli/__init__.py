"""The ``cxsim`` command: argument parsing only; every command calls the public API."""

from cxsim.cli.main import entry, main

__all__ = ["entry", "main"]
