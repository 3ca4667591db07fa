"""Fuzzing the shipped scenarios: whatever a file says, cxsim refuses it cleanly or simulates it.

Each test mutates the shipped scenarios (scenarios/*.yaml) one way (a class of mutation) and
checks the README's promise: loading raises nothing but :class:`cxsim.CxsimError`, and a
scenario that is accepted simulates (20 draws, the horizon cut to 24 months where the file
allows) without any other exception or warning, into outputs that are finite and in range.

Classes: wrong types, extreme numbers, odd names, nesting and structure, distributions (the
mapping a loaded file becomes, validated directly), and YAML text (includes, extends,
aliases, merge keys, corrupted bytes; written to files and loaded). Examples are
derandomised, so every run tries the same cases; the ``slow`` tests try more.
``CXSIM_FUZZ_STATS=FILE`` writes how many cases each class tried, refused and simulated.
"""

from __future__ import annotations

import atexit
import copy
import datetime
import json
import math
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxsim
from cxsim.scenario.scenario import validate
from tests.conftest import ROOT, SCENARIOS, TEST_SCENARIOS

DRAWS = 20
# Examples per class in every run and in the slow profile; files are parsed by pure-Python
# YAML (about 60 ms a case), mappings only validated (about 10 ms, 30 ms when simulated).
FAST, SLOW = 500, 1500
FAST_FILES, SLOW_FILES = 250, 800
# Distributions are mostly accepted, so most of their cases run a simulation.
FEWER = {"distributions": 0.6}


def _short(scenario: cxsim.Scenario) -> cxsim.Scenario:
    """The scenario over 24 months when its plans fit (simulations stay cheap)."""
    try:
        return scenario.with_overrides({"horizon_months": 24})
    except cxsim.ScenarioError:
        return scenario


BASES = [_short(cxsim.load_scenario(path)) for path in sorted(SCENARIOS.glob("*.yaml"))]
STATS: Counter[str] = Counter()


@atexit.register
def _write_stats() -> None:
    target = os.environ.get("CXSIM_FUZZ_STATS")
    if target and STATS:
        Path(target).write_text(json.dumps(dict(sorted(STATS.items())), indent=1))


def fuzz(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


# -- what a mutation may put in a file ----------------------------------------------------
EXTREMES = [
    0, -0.0, 1, -1, 2, 0.05, 0.0500001, 0.5, 0.999999999, 1 - 1e-16, 1e-9, 1e-300, -1e-300,
    5e-324, 24, 600, 601, 6000, 1e10, 1e10 + 1, 1e15, 1.0000001e15, -1e15, 1e100, 1e306, 1e308,
    -1e308, math.inf, -math.inf, math.nan, 2**53 + 1, 2**63, 2**64, -(2**64), 10**400, -(10**400),
]  # fmt: skip
numbers = st.one_of(
    st.sampled_from(EXTREMES),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
)
ODD_NAMES = [
    "", " ", "2024", "null", "~", "true", "1e5", "a.b", "x" * 5000, "ünïcödé", "{x}", "%s {0}",
    "-", "\n", "\t", "__class__", "model", "0", "segments", "core.arpu", "<mapping>", "'",
]  # fmt: skip
names = st.one_of(st.sampled_from(ODD_NAMES), st.text(max_size=12))
WRONG_TYPES = [
    None, True, False, "text", "", "1e5", "nan", "inf", "-", [], [1], [None], {}, {"a": 1},
    {"dist": "pert"}, {"dist": "normal", "mean": 0, "sd": 1}, {"dist": None}, [[[]]],
    datetime.date(2024, 1, 1), b"\x00bytes", {1: 2}, {None: 1}, [{"a": [1, {"b": None}]}],
]  # fmt: skip
leafish = st.one_of(st.sampled_from(WRONG_TYPES), names, numbers)


def distributions() -> st.SearchStrategy[dict]:
    kinds = st.sampled_from(["pert", "triangular", "uniform", "normal", "lognormal", "beta", "x"])
    keys = st.sampled_from(["min", "mode", "max", "mean", "sd", "alpha", "beta", "loc", "scale"])
    return st.builds(
        lambda kind, params: {"dist": kind, **params},
        kinds,
        st.dictionaries(keys, numbers, max_size=5),
    )


# -- the mapping a file becomes, and paths into it -----------------------------------------
def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside ``node`` (mapping keys and list indices)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _get(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


PATHS = [_paths(base.data) for base in BASES]
NUMERIC = [
    [p for p in paths if _is_number(_get(b.data, p))]
    for b, paths in zip(BASES, PATHS, strict=False)
]
MAPPINGS = [
    [p for p in [(), *paths] if isinstance(_get(b.data, p), dict)]
    for b, paths in zip(BASES, PATHS, strict=False)
]


def _set(data: Any, path: tuple, value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def _rename_everywhere(node: Any, old: str, new: Any) -> Any:
    """Rename a key wherever it appears, and inside dotted paths (correlations, columns)."""
    if isinstance(node, dict):
        return {
            (new if key == old else key): _rename_everywhere(value, old, new)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rename_everywhere(item, old, new) for item in node]
    if isinstance(node, str) and isinstance(new, str) and f".{old}." in node:
        return node.replace(f".{old}.", f".{new}.")
    return node


# -- the checks ------------------------------------------------------------------------------
def _finite(values: np.ndarray, what: str) -> None:
    assert np.all(np.isfinite(values)), f"{what}: not finite {values[~np.isfinite(values)][:5]}"


def _check_result(result: Any, scenario: cxsim.Scenario) -> None:
    """Outputs of an accepted scenario: finite and in range (NaN only where documented)."""
    horizon = scenario.horizon_months
    out = result.outcomes
    for column in ("npv", "pv_benefit", "pv_cost", "nps_change", "retention_12m_change"):
        _finite(out[column].to_numpy(), column)
    for column in ("clv_change", "customers_change", "terminal_value", "npv_with_terminal"):
        if column in out:
            _finite(out[column].to_numpy(), column)
    assert (out["pv_cost"] >= 0).all()
    assert out["nps_change"].abs().max() <= 200 + 1e-9
    assert out["retention_12m_change"].abs().max() <= 1 + 1e-9
    roi = out["roi"].to_numpy()
    costly = out["pv_cost"].to_numpy() > 0
    _finite(roi[costly], "roi where the programme costs something")
    assert np.isnan(roi[~costly]).all(), "roi of a free programme is n/a"
    irr = out["irr"].dropna().to_numpy()
    _finite(irr, "irr")
    assert (irr >= -1).all()  # -1: a monthly rate of -99% rounds to -100% a year
    for column in ("payback_months", "discounted_payback_months"):
        months = out[column].dropna().to_numpy()  # NaN: not paid back within the horizon
        assert ((months >= 0) & (months <= horizon)).all(), column
    for name, array in result.metrics.items():
        _finite(array, f"metric {name}")
    for name in ("churn", "retention_12m"):
        array = result.metrics[name]
        assert array.min() >= -1e-9 and array.max() <= 1 + 1e-9, name
    assert result.metrics["customers"].min() >= 0
    frame = result.summary().frame
    for label, row in frame.iterrows():
        if row["unit"] == "probability":
            assert 0 <= row["mean"] <= 1, label
        elif "payback" in str(label).lower():
            values = row[["p5", "p50", "p95"]].to_numpy(dtype=float)
            assert not np.isnan(values).any() or row["defined_share"] < 1, label
            assert not np.isneginf(values).any(), label
        elif str(label).startswith(("ROI", "IRR")):
            assert not np.isinf(row["mean"]), label
            assert not np.isnan(row["mean"]) or row["defined_share"] < 1, label
        else:
            _finite(row[["mean", "p5", "p50", "p95"]].to_numpy(dtype=float), str(label))


def _try(kind: str, load) -> None:
    """Load (a callable) and, when accepted, simulate; nothing but CxsimError may escape."""
    STATS[f"{kind}: cases"] += 1
    try:
        scenario = load()
    except cxsim.CxsimError as exc:
        assert str(exc).strip(), "an error without a message"
        STATS[f"{kind}: refused"] += 1
        return
    try:
        result = cxsim.simulate(scenario, draws=DRAWS, seed=0, keep="all", progress=False)
    except cxsim.CxsimError:
        STATS[f"{kind}: accepted, run refused"] += 1
        return
    _check_result(result, scenario)
    STATS[f"{kind}: accepted and simulated"] += 1


def _validate(base: cxsim.Scenario, data: dict):
    return lambda: validate(data, origins=base.origins, source=base.source, tables=base.tables)


# -- mapping-level mutation classes ----------------------------------------------------------
@st.composite
def wrong_types(draw):
    index = draw(st.integers(0, len(BASES) - 1))
    data = copy.deepcopy(BASES[index].data)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        _set(data, draw(st.sampled_from(paths)), draw(leafish))
    return index, data


@st.composite
def extreme_numbers(draw):
    index = draw(st.integers(0, len(BASES) - 1))
    data = copy.deepcopy(BASES[index].data)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(NUMERIC[index]))
        value = draw(numbers)
        old = _get(data, path)
        scalable = _is_number(value) and _is_number(old) and max(abs(value), abs(old)) < 1e300
        if draw(st.booleans()) and scalable:
            with np.errstate(all="ignore"):  # a relative change: the same input scaled
                value = float(np.float64(old) * np.float64(value))
        _set(data, path, value)
    return index, data


@st.composite
def odd_names(draw):
    index = draw(st.integers(0, len(BASES) - 1))
    data = copy.deepcopy(BASES[index].data)
    where = draw(st.sampled_from(MAPPINGS[index]))
    mapping = _get(data, where)
    if not mapping:
        return index, data
    old = draw(st.sampled_from(sorted(mapping, key=str)))
    new = draw(st.one_of(names, st.sampled_from([None, 2024, True, 1.5])))
    if draw(st.booleans()):
        data = _rename_everywhere(data, old, new)  # a consistent rename: may be accepted
    else:
        mapping[new] = mapping.pop(old)
    return index, data


@st.composite
def structure(draw):
    index = draw(st.integers(0, len(BASES) - 1))
    data = copy.deepcopy(BASES[index].data)
    paths = _paths(data)
    path = draw(st.sampled_from(paths))
    how = draw(st.sampled_from(["wrap", "deep", "delete", "copy", "list", "add"]))
    value = _get(data, path)
    if how == "wrap":
        for _ in range(draw(st.integers(1, 40))):
            value = draw(st.sampled_from([[value], {"x": value}, {"dist": value}]))
        _set(data, path, value)
    elif how == "deep":
        depth = draw(st.integers(1, 95))
        nested: Any = draw(leafish)
        for _ in range(depth):
            nested = [nested] if draw(st.booleans()) else {"k": nested}
        _set(data, path, nested)
    elif how == "delete":
        del _get(data, path[:-1])[path[-1]]
    elif how == "copy":  # another part of the scenario in this place
        _set(data, path, copy.deepcopy(_get(data, draw(st.sampled_from(paths)))))
    elif how == "list":
        _set(data, path, [value] * draw(st.integers(0, 50)))
    else:
        parent = _get(data, path[:-1])
        if isinstance(parent, dict):
            parent[draw(names)] = draw(leafish)
        else:
            parent.append(draw(leafish))
    return index, data


@st.composite
def with_distributions(draw):
    index = draw(st.integers(0, len(BASES) - 1))
    data = copy.deepcopy(BASES[index].data)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(NUMERIC[index]))
        old = _get(data, path)
        if not _is_number(old) or draw(st.booleans()):
            _set(data, path, draw(distributions()))
            continue
        # Around the value the file gives: often valid, so the run itself is exercised.
        old = float(old)
        spread = draw(st.sampled_from([1e-9, 0.01, 0.1, 0.5, 0.99, 1.0, 10.0, 1e6, 1e12]))
        low, high = sorted((old * (1 - spread), old * (1 + spread)))
        kind = draw(st.sampled_from(["pert", "triangular", "uniform", "normal", "lognormal"]))
        if kind in ("pert", "triangular"):
            value = {"dist": kind, "min": low, "mode": old, "max": high}
        elif kind == "uniform":
            value = {"dist": kind, "min": low, "max": high}
        elif kind == "normal":
            value = {"dist": kind, "mean": old, "sd": abs(old) * spread or 1.0}
            if draw(st.booleans()):
                value.update(min=low, max=high)
        else:
            value = {"dist": kind, "mean": old, "sd": abs(old) * spread}
        _set(data, path, value)
    return index, data


CLASSES = {
    "wrong types": wrong_types(),
    "extreme numbers": extreme_numbers(),
    "odd names": odd_names(),
    "nesting and structure": structure(),
    "distributions": with_distributions(),
}


def _mapping_case(kind: str, case) -> None:
    index, data = case
    _try(kind, _validate(BASES[index], data))


@pytest.mark.parametrize("kind", list(CLASSES))
def test_mutated_mappings_are_refused_or_simulate_cleanly(kind):
    examples = int(FAST * FEWER.get(kind, 1))
    given(CLASSES[kind])(fuzz(examples)(lambda case: _mapping_case(kind, case)))()


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CLASSES))
def test_mutated_mappings_more_cases(kind):
    strategy = st.tuples(st.just("slow"), CLASSES[kind]).map(lambda pair: pair[1])
    examples = int(SLOW * FEWER.get(kind, 1))
    given(strategy)(fuzz(examples)(lambda case: _mapping_case(kind, case)))()


# -- YAML text: includes, extends, aliases, merge keys, corrupted bytes ----------------------
FOLDER = Path(tempfile.mkdtemp(prefix="cxsim-fuzz-"))
atexit.register(shutil.rmtree, FOLDER, ignore_errors=True)
SMALL = [
    (TEST_SCENARIOS / "minimal.yaml").read_text(),
    yaml.safe_dump(BASES[-1].to_dict(), sort_keys=False),  # a sequence scenario, merged
]
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=False)
)
(FOLDER / "junk.yaml").write_bytes(b"\x00\xff\xfe{[}]: :\n\t- ?")
(FOLDER / "list.yaml").write_text("- 1\n- 2\n")
(FOLDER / "empty.yaml").write_text("")
(FOLDER / "bomb.yaml").write_text(BOMB)
(FOLDER / "folder").mkdir()
TARGETS = [
    "junk.yaml",
    "list.yaml",
    "empty.yaml",
    "bomb.yaml",
    "folder",
    "missing.yaml",
    "case.yaml",
    "/dev/zero",
    "/dev/null",
    str(ROOT / "data" / "calibration" / "lag.yaml"),
    "",
    "../" * 40,
]


@st.composite
def yaml_texts(draw):
    text = draw(st.sampled_from(SMALL))
    lines = text.splitlines(keepends=True)
    how = draw(
        st.sampled_from(["include", "extends", "alias", "merge", "bytes", "cut", "int", "nest"])
    )
    if how in ("include", "extends"):
        targets = draw(st.lists(st.sampled_from(TARGETS), min_size=1, max_size=3))
        value = targets if how == "include" and draw(st.booleans()) else targets[0]
        text = text + yaml.safe_dump({how: value})
    elif how == "alias":  # a later value repeats an earlier one
        at = draw(st.integers(0, len(lines) - 1))
        line = lines[at]
        if ": " in line and not line.rstrip().endswith(":"):
            key, _, rest = line.partition(": ")
            lines[at] = f"{key}: &anchor {rest}"
            later = draw(st.integers(at, len(lines) - 1))
            if ": " in lines[later] and later != at:
                key2, _, _ = lines[later].partition(": ")
                lines[later] = f"{key2}: *anchor\n"
        text = "".join(lines)
    elif how == "merge":
        text = text.replace("\n  core:\n", "\n  core: &core\n", 1)
        text = text + "defaults: {<<: *core}\n" if "&core" in text else text + "<<: {a: 1}\n"
    elif how == "bytes":
        at = draw(st.integers(0, len(text)))
        junk = draw(st.text(max_size=8))
        text = text[:at] + junk + text[at + draw(st.integers(0, 5)) :]
    elif how == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif how == "int":
        digits = draw(st.sampled_from([20, 309, 310, 400, 4300, 5000]))
        text = text.replace("customers: ", f"customers: {'9' * digits} #", 1)
    else:
        depth = draw(st.integers(90, 3000))
        text = text + f"provenance: {{note: {'[' * depth}{']' * depth}}}\n"
    return text


def _text_case(text: str) -> None:
    path = FOLDER / "case.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _try("YAML text and files", lambda: cxsim.load_scenario(path))


@fuzz(FAST_FILES)
@given(yaml_texts())
def test_mutated_files_are_refused_or_simulate_cleanly(text):
    _text_case(text)


@pytest.mark.slow
@fuzz(SLOW_FILES)
@given(st.tuples(st.just("slow"), yaml_texts()).map(lambda pair: pair[1]))
def test_mutated_files_more_cases(text):
    _text_case(text)


# -- model problems the fuzzer found, as regression tests -----------------------------------
def _simulated(path: str, overrides: dict) -> Any:
    scenario = cxsim.load_scenario(SCENARIOS / path).with_overrides(overrides)
    return cxsim.simulate(scenario, draws=DRAWS, seed=0, keep="all", progress=False)


@pytest.mark.parametrize(
    "alpha", [1e-283, 1.4e16], ids=["tiny alpha", "churn that rounds to 1 a year"]
)
def test_sbg_extremes_the_fuzzer_found_simulate_cleanly(alpha):
    # Both raised from the model until its sBG classes covered every valid (alpha, beta).
    scenario = cxsim.load_scenario(SCENARIOS / "retail_bank.yaml")
    scenario = scenario.with_overrides({"segments.small_business.sbg.alpha": alpha})
    result = cxsim.simulate(scenario, draws=DRAWS, seed=0, keep="all", progress=False)
    _check_result(result, scenario)


def test_churn_stays_a_probability_under_a_promise_penalty():
    # A promise penalty on a 95% monthly churn asked for more than every customer to leave.
    result = _simulated("sequence_all_at_once.yaml", {"segments.everyday.monthly_churn": 0.95})
    assert result.metrics["churn"].max() <= 1
    assert result.metrics["customers"].min() >= 0


def test_a_ramp_of_a_denormal_month_runs_cleanly():
    # t / ramp overflowed with a RuntimeWarning (an error under the suite's filters); the
    # ramp is then complete one month after its start, as meant.
    overrides = {"work_groups.support.plan.ramp_months": 5e-324}
    result = _simulated("retail_bank.yaml", overrides)
    _check_result(result, cxsim.load_scenario(SCENARIOS / "retail_bank.yaml"))
