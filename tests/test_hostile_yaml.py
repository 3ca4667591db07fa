"""Files no scenario should be able to crash or stall cxsim with, and the YAML it now reads.

The golden hostile files (alias bomb, deep nesting, huge integers, /dev/zero, keys that are not
text) live in tests/scenarios/bad/ with their messages; these are the cases a repository cannot
hold (a named pipe, a file over the size limit, a symlink to a device) and the YAML features
that must work: exponent numbers and merge keys.
"""

from __future__ import annotations

import os
import re
import sys

import pytest
import yaml

import cxsim
from cxsim.scenario.reading import MAX_DEPTH, MAX_YAML_BYTES, parse_yaml
from tests.conftest import TEST_SCENARIOS

MINIMAL = (TEST_SCENARIOS / "minimal.yaml").read_text()


def write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


def message_of(path) -> str:
    with pytest.raises(cxsim.ScenarioError) as info:
        cxsim.load_scenario(path)
    return str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
@pytest.mark.parametrize("how", ["main", "include", "extends"])
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path, how):
    os.mkfifo(tmp_path / "pipe.yaml")
    if how == "main":
        path = tmp_path / "pipe.yaml"
    elif how == "include":
        path = write(tmp_path, "s.yaml", MINIMAL + "include: [pipe.yaml]\n")
    else:
        path = write(tmp_path, "s.yaml", "extends: pipe.yaml\n")
    assert "not a regular file, so it is not read" in message_of(path)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_symlink_to_a_device_is_refused(tmp_path):
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    path = write(tmp_path, "s.yaml", MINIMAL + "include: [zero.yaml]\n")
    assert "include.0: not a regular file, so it is not read (got 'zero.yaml'" in message_of(path)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path):
    path = write(tmp_path, "big.yaml", MINIMAL + "#" * MAX_YAML_BYTES + "\n")
    assert f"at most {MAX_YAML_BYTES:,} bytes" in message_of(path)
    include = write(tmp_path, "s.yaml", MINIMAL + "include: [big.yaml]\n")
    assert "include.0: file too large to read" in message_of(include)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_samples_table_on_a_device_is_refused(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL + "samples: [{file: /dev/zero}]\n")
    assert "samples.0.file: not a regular file, so it is not read" in message_of(path)


def test_an_alias_inside_its_own_value_is_refused(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL + "provenance: &loop {again: *loop}\n")
    assert "an alias refers to the value it is inside" in message_of(path)


def test_a_bomb_of_mappings_is_refused_before_it_expands(tmp_path):
    lines = ["m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}"]
    for level in range(1, 10):
        keys = ", ".join(f"k{k}: *m{level - 1}" for k in range(9))
        lines.append(f"m{level}: &m{level} {{{keys}}}")
    path = write(tmp_path, "s.yaml", "\n".join(lines) + "\nprovenance: *m9\n")
    assert "more than 100,000 values" in message_of(path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("!!int abc", "cannot read this value as tagged (int)"),
        ("!!float x", "cannot read this value as tagged (float)"),
        ("!!timestamp 2024-13-45", "cannot read this value as tagged (timestamp)"),
        ("0x" + "f" * 300, "number too large"),
        ("-" + "9" * 320, "number too large (320 digits)"),
    ],
)
def test_values_python_cannot_build_are_located(tmp_path, value, expected):
    path = write(tmp_path, "s.yaml", MINIMAL.replace("customers: 10000", f"customers: {value}"))
    message = message_of(path)
    assert expected in message and "s.yaml:7:" in message


@pytest.mark.parametrize("key", ["no", "yes", "on", "~", "2024-01-31", "1.5", "true"])
def test_a_key_yaml_reads_as_another_type_must_be_quoted(tmp_path, key):
    path = write(tmp_path, "s.yaml", MINIMAL.replace("  core:", f"  {key}:"))
    assert "segments: a key must be text" in message_of(path)


def test_depth_just_inside_the_limit_loads():
    nested = "[" * (MAX_DEPTH - 2) + "1" + "]" * (MAX_DEPTH - 2)
    assert parse_yaml(f"a: {nested}\n", "t.yaml")["a"]
    with pytest.raises(cxsim.ScenarioError, match="nested more than"):
        parse_yaml(f"a: [{nested}]\n", "t.yaml")


@pytest.mark.parametrize(
    ("text", "number"),
    [("1e5", 1e5), ("2.5E-3", 2.5e-3), ("-1e-2", -0.01), ("1.0e+6", 1e6), ("+3E2", 300.0)],
)
def test_numbers_with_an_exponent_are_numbers(text, number):
    # YAML 1.2 reads these as numbers; PyYAML's YAML 1.1 rule read the first three as text.
    assert parse_yaml(f"x: {text}\n", "t.yaml") == {"x": number}


def test_a_scenario_may_write_its_customers_as_1e5(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL.replace("customers: 10000", "customers: 1e4"))
    assert (
        cxsim.load_scenario(path).model
        == cxsim.load_scenario(TEST_SCENARIOS / "minimal.yaml").model
    )


def test_text_that_only_looks_like_a_number_stays_text():
    data = parse_yaml("a: e5\nb: 1e\nc: '1e5'\nd: 1e5x\n", "t.yaml")
    assert data == {"a": "e5", "b": "1e", "c": "1e5", "d": "1e5x"}


def test_merge_keys_lay_the_anchor_under_the_mapping_own_keys(tmp_path):
    plain = yaml.safe_load(MINIMAL)
    seg = plain["segments"]["core"]
    lines = MINIMAL.replace("  core:\n", "  core: &core\n").splitlines(keepends=True)
    at = lines.index("work_groups:\n")
    lines[at:at] = ["  premium:\n", "    <<: *core\n", "    arpu: 80.0\n"]
    scenario = cxsim.load_scenario(write(tmp_path, "s.yaml", "".join(lines)))
    premium = scenario.segments["premium"]
    assert premium.arpu == 80.0
    assert premium.customers == seg["customers"] and premium.cac == seg["cac"]
    assert scenario.segments["core"].arpu == seg["arpu"]


def test_a_key_given_twice_beside_a_merge_key_is_still_refused():
    with pytest.raises(cxsim.ScenarioError, match="duplicate key 'a'"):
        parse_yaml("base: &b {a: 1}\nx: {<<: *b, a: 2, a: 3}\n", "t.yaml")


def test_an_integer_python_cannot_write_is_refused_from_a_mapping_too(minimal):
    minimal["segments"]["core"]["customers"] = 10**5000
    with pytest.raises(cxsim.ScenarioError, match="must be a finite number"):
        cxsim.load_scenario(minimal)


def test_overriding_include_or_extends_names_the_path(minimal):
    scenario = cxsim.load_scenario(minimal)
    for path, value in (("include", ["x.yaml"]), ("extends", "base.yaml")):
        with pytest.raises(cxsim.ScenarioError) as info:
            scenario.with_overrides({path: value}, source="--set")
        assert str(info.value).startswith(f"--set: {path}: {path} is read only from scenario files")


def test_parsing_leaves_the_recursion_limit_alone():
    before = sys.getrecursionlimit()
    with pytest.raises(cxsim.ScenarioError):
        parse_yaml("a: " + "[" * 5000 + "]" * 5000 + "\n", "t.yaml")
    assert sys.getrecursionlimit() == before


def test_a_control_character_is_located():
    with pytest.raises(cxsim.ScenarioError, match=r"t\.yaml:2: a character YAML does not allow"):
        parse_yaml("a: 1\n\x1fb: 2\n", "t.yaml")


def _deep(levels):
    value = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def _loop():
    value: list = []
    value.append(value)
    return value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (_loop(), "a value that contains itself"),
        (_deep(3000), "nested more than 100 deep"),
        ({1: 2}, "a key must be text (got 1"),
        ({"a": {None: 1}}, "provenance.note.a: a key must be text (got None"),
    ],
    ids=["loop", "deep", "number-key", "null-key"],
)
def test_data_made_in_python_is_held_to_the_file_rules(minimal, value, expected):
    # The same rules as a file's, before anything walks the data (a traceback before).
    minimal["provenance"] = {"note": value}
    with pytest.raises(cxsim.ScenarioError, match=re.escape(expected)):
        cxsim.load_scenario(minimal)
    minimal["provenance"] = {}
    scenario = cxsim.load_scenario(minimal)
    with pytest.raises(cxsim.ScenarioError, match="--set: provenance.note: "):
        scenario.with_overrides({"provenance.note": value}, source="--set")


def test_binary_data_is_no_scenario_value(tmp_path):
    # Pydantic would read it as text, so a work group named in bytes passed the name checks.
    path = write(tmp_path, "s.yaml", MINIMAL.replace("name: Minimal", "name: !!binary aGVsbG8="))
    assert "name: binary data (a !!binary value) is not a scenario value" in message_of(path)
