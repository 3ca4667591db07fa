"""Shared fixtures: a small scenario as a mapping, and paths to the shipped scenarios."""

from __future__ import annotations

import copy
import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
TEST_SCENARIOS = Path(__file__).resolve().parent / "scenarios"
FLAGSHIP = SCENARIOS / "retail_bank.yaml"


def minimal_mapping() -> dict:
    """The scenario in tests/scenarios/minimal.yaml as a fresh mapping."""
    return yaml.safe_load((TEST_SCENARIOS / "minimal.yaml").read_text())


def one_segment(**segment) -> dict:
    """A one-segment scenario without work groups; keyword arguments override segment keys."""
    data = minimal_mapping()
    data.pop("work_groups")
    data["segments"]["core"].update(segment)
    return data


@pytest.fixture
def minimal() -> dict:
    return copy.deepcopy(minimal_mapping())
