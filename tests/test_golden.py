"""The shipped scenarios' numbers, recorded before the package was reorganised.

Every statistic of ``summary()``, the horizon table and the segment economics of each shipped
scenario at a fixed seed, plus the flagship's tornado and lever waterfall, at full precision.
A refactor must leave them identical to the last bit. To record them again after a change
that is *meant* to move numbers, run ``CXSIM_RECORD_GOLDEN=1 python -m pytest
tests/test_golden.py`` and say in the commit why the numbers moved.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

import cxsim
from tests.conftest import SCENARIOS

GOLDEN = SCENARIOS.parent / "tests" / "golden" / "summaries.json"
SHIPPED = sorted(p.name for p in SCENARIOS.glob("*.yaml"))
SEED = 20261129


def _plain(value):
    if value is None or isinstance(value, str | bool):
        return value
    value = float(value)
    return None if math.isnan(value) else value


def _table(frame) -> dict:
    return {
        str(index): {str(col): _plain(frame.loc[index, col]) for col in frame.columns}
        for index in frame.index
    }


def record(name: str) -> dict:
    scenario = cxsim.load_scenario(SCENARIOS / name)
    draws = 1000 if scenario.uncertain_inputs() else 1
    result = cxsim.simulate(scenario, draws=draws, seed=SEED, progress=False)
    out = {
        "draws": draws,
        "summary": _table(result.summary().frame),
        "notes": result.summary().notes,
        "horizon": _table(result.horizon_table()),
        "economics": _table(result.segment_economics().drop(columns="description")),
        "outcome_sums": {k: _plain(np.nansum(v)) for k, v in result.outcomes.items()},
    }
    if name == "retail_bank.yaml":
        out["tornado"] = _table(cxsim.tornado(scenario).set_index("input"))
        lever = cxsim.waterfall_by_lever(scenario, draws=100, seed=SEED)
        out["waterfall_by_lever"] = _table(lever.set_index("component"))
    return out


@pytest.fixture(scope="module")
def golden() -> dict:
    if os.environ.get("CXSIM_RECORD_GOLDEN"):
        GOLDEN.write_text(json.dumps({n: record(n) for n in SHIPPED}, indent=1, sort_keys=True))
    return json.loads(GOLDEN.read_text())


def test_every_shipped_scenario_is_recorded(golden):
    assert sorted(golden) == SHIPPED


def recorded_part(new, old):
    """``new`` restricted to what ``old`` recorded: a column or note added later (such as the
    Monte Carlo errors) is not a change to the numbers recorded."""
    if isinstance(old, dict) and isinstance(new, dict):
        return {key: recorded_part(new.get(key), value) for key, value in old.items()}
    if isinstance(old, list) and isinstance(new, list):
        return new[: len(old)]
    return new


@pytest.mark.parametrize("name", SHIPPED)
def test_numbers_are_unchanged_to_the_last_bit(golden, name):
    assert recorded_part(record(name), golden[name]) == golden[name]
