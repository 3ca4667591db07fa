"""What the user wrote: scenario files → a validated, frozen :class:`Scenario`.

The pipeline, one module each: :mod:`~cxsim.scenario.loading` reads YAML and merges
``include:`` files, :mod:`~cxsim.scenario.schema` types every key, :mod:`~cxsim.scenario.checks`
holds the rules that span several keys, and :mod:`~cxsim.scenario.scenario` assembles the
:class:`Scenario` that everything downstream reads (never the raw mapping).
"""

from cxsim.scenario.checks import topological_order
from cxsim.scenario.scenario import Input, Scenario, load_scenario, validate

__all__ = ["Input", "Scenario", "load_scenario", "topological_order", "validate"]
