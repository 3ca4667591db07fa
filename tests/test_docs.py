"""Every scenario key is documented; the README's commands are the ones CI runs."""

import re

import pytest
from pydantic import BaseModel

from cxsim.scenario import schema
from tests.conftest import ROOT

FORMAT = (ROOT / "docs" / "scenario-format.md").read_text()
MODELS = [
    obj
    for obj in vars(schema).values()
    if isinstance(obj, type)
    and issubclass(obj, BaseModel)
    and obj.__module__ == "cxsim.scenario.schema"
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_scenario_key_is_documented(model):
    for name in model.model_fields:
        assert re.search(rf"`([\w.<>]+\.)?{name}`", FORMAT), f"{model.__name__}.{name}"


def test_readme_commands_are_marked_for_ci():
    readme = (ROOT / "README.md").read_text()
    for marker in ("<!-- run-command -->", "<!-- test-command -->"):
        block = readme.split(marker, 1)[1].split("```")[1]
        assert block.strip().startswith("bash\n")
        assert "pip install" in block
    assert "cxsim run scenarios/retail_bank.yaml" in readme
