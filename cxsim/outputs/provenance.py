"""Where a result came from, so that anyone can run it again and get the same numbers.

A result is fixed by its scenario files (their exact bytes), the overrides applied to them,
the seed, the draws and the cxsim version (draw ``i`` depends only on the seed and ``i``).
:class:`Provenance` gathers these; the printed case opens with it, ``--out`` writes it as
``run.json`` and the workbook has it on its Provenance sheet.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxsim._version import __version__

if TYPE_CHECKING:
    from cxsim.outputs.views import BaseResult


@dataclass
class Provenance:
    """What fixes a result: scenario, files with their SHA-256, overrides, seed, draws."""

    scenario: str
    file: str
    scenario_sha256: dict[str, str]
    seed: int
    draws: int
    keep: str
    overrides: list[dict[str, Any]]
    cxsim_version: str = __version__
    command: list[str] | None = None
    date: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, result: BaseResult, command: list[str] | None = None) -> Provenance:
        """The provenance of ``result``; ``command`` is the command line that made it."""
        scenario = result.scenario
        return cls(
            scenario=scenario.name,
            file=scenario.source,
            scenario_sha256=dict(scenario.files),
            seed=int(result.seed),
            draws=int(result.draws),
            keep=result.keep,
            overrides=[
                {"path": path, "value": _plain(value), "source": source}
                for path, value, source in scenario.overrides
            ],
            command=list(command) if command is not None else None,
            notes=[*scenario.notes, *result.notes],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "file": self.file,
            "scenario_sha256": self.scenario_sha256,
            "seed": self.seed,
            "draws": self.draws,
            "keep": self.keep,
            "overrides": self.overrides,
            "cxsim_version": self.cxsim_version,
            "command": self.command,
            "date": self.date,
            "notes": self.notes,
        }

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return path

    def rows(self) -> list[tuple[str, str]]:
        """(label, text) lines, for the workbook's Provenance sheet and the printed header."""
        rows = [
            ("Scenario", self.scenario),
            ("File", self.file),
            *((f"SHA-256 of {name}", digest) for name, digest in self.scenario_sha256.items()),
            ("Seed", str(self.seed)),
            ("Draws", f"{self.draws:,}"),
            ("Kept", self.keep),
            ("cxsim version", self.cxsim_version),
            ("Run on (UTC)", self.date),
        ]
        rows += [("Override", _override_text(o)) for o in self.overrides]
        if not self.overrides:
            rows.append(("Overrides", "none"))
        if self.command is not None:
            rows.append(("Command", " ".join(self.command)))
        rows += [("Note", note) for note in self.notes]
        return rows

    def header(self) -> str:
        """The lines the printed case opens with."""
        files = list(self.scenario_sha256.items())
        shown = self.file
        if files:
            shown += f" (sha256 {files[0][1][:12]})"
        if len(files) > 1:
            shown += f" + {len(files) - 1} more file{'s' * (len(files) > 2)}: " + ", ".join(
                f"{name} ({digest[:12]})" for name, digest in files[1:]
            )
        lines = [
            f"{self.scenario}",
            f"  scenario {shown}",
            f"  seed {self.seed}, {_count(self.draws, 'draw')}, kept {self.keep}, "
            f"cxsim {self.cxsim_version}, run {self.date}",
        ]
        if self.overrides:
            lines.append("  overrides: " + "; ".join(_override_text(o) for o in self.overrides))
        else:
            lines.append("  overrides: none")
        return "\n".join(lines)


def command_line() -> list[str]:
    """This process's command line, as the user typed it (``cxsim run ...``)."""
    program = Path(sys.argv[0]).name if sys.argv else "python"
    return [program, *sys.argv[1:]]


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


def _override_text(override: dict[str, Any]) -> str:
    value = json.dumps(override["value"], ensure_ascii=False)
    return f"{override['path']} = {value} ({override['source']})"


def _plain(value: Any) -> Any:
    """A YAML value as JSON can hold it (mappings and lists of numbers and strings)."""
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)
