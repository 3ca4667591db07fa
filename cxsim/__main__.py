"""``python -m cxsim``: the same as the ``cxsim`` command."""

from cxsim.cli import entry

entry()
