"""``python -m cxsim``: the same as the ``cxsim`` command."""

from cxsim.cli.main import entry

entry()
