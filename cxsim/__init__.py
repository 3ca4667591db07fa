"""cxsim — simulate the return on customer-experience work.

Progress on leading indicators (CX design and improvement per work group) propagates,
with delays and uncertainty, into lagging indicators (retention, loyalty, cost to
serve, CLV, revenue, profit) and the programme's NPV, ROI and payback.

The public API::

    scenario = cxsim.load_scenario("scenarios/retail_bank.yaml")
    result = cxsim.simulate(scenario, draws=1000, seed=7)
    result.summary()

What-if and decisions: ``cxsim.compare``, ``cxsim.tornado``, ``cxsim.sobol`` /
``cxsim.variance_shares`` (what drives the NPV's variance), ``cxsim.breakeven``,
``cxsim.waterfall_by_lever`` / ``waterfall_by_group``, ``cxsim.optimize``. Calibration
against data: ``cxsim.calibrate``; plots: ``cxsim.plotting``; shipped data:
``cxsim.datasets``.

Names and submodules load on first use (PEP 562), so ``import cxsim`` stays cheap and
``cxsim.plotting`` never imports matplotlib until a plot is drawn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cxsim._version import __version__
from cxsim.errors import CalibrationError, CxsimError, ScenarioError

if TYPE_CHECKING:  # what the lazy names resolve to, for type checkers and IDEs
    from cxsim.analysis.attribution import waterfall_by_group, waterfall_by_lever
    from cxsim.analysis.comparison import Comparison, compare
    from cxsim.analysis.global_sensitivity import sobol, variance_shares
    from cxsim.analysis.group_values import group_values
    from cxsim.analysis.listening import value_of_listening
    from cxsim.analysis.planning import OptimizationResult, optimize
    from cxsim.analysis.sensitivity import BreakEven, breakeven, tornado
    from cxsim.montecarlo import simulate
    from cxsim.outputs.result import SimulationResult
    from cxsim.outputs.streamed import SummaryResult
    from cxsim.outputs.summary import Summary
    from cxsim.scenario import Scenario, load_scenario

# Public name -> module that defines it.
_NAMES = {
    "BreakEven": "cxsim.analysis.sensitivity",
    "Comparison": "cxsim.analysis.comparison",
    "OptimizationResult": "cxsim.analysis.planning",
    "Scenario": "cxsim.scenario",
    "SimulationResult": "cxsim.outputs.result",
    "SummaryResult": "cxsim.outputs.streamed",
    "Summary": "cxsim.outputs.summary",
    "breakeven": "cxsim.analysis.sensitivity",
    "compare": "cxsim.analysis.comparison",
    "group_values": "cxsim.analysis.group_values",
    "load_scenario": "cxsim.scenario",
    "optimize": "cxsim.analysis.planning",
    "simulate": "cxsim.montecarlo",
    "sobol": "cxsim.analysis.global_sensitivity",
    "tornado": "cxsim.analysis.sensitivity",
    "value_of_listening": "cxsim.analysis.listening",
    "variance_shares": "cxsim.analysis.global_sensitivity",
    "waterfall_by_group": "cxsim.analysis.attribution",
    "waterfall_by_lever": "cxsim.analysis.attribution",
}
# Short submodule names reachable as attributes: ``cxsim.plotting.plot_cash_flow``.
_SUBMODULES = {
    "analysis": "cxsim.analysis",
    "calibrate": "cxsim.calibrate",
    "cli": "cxsim.cli",
    "datasets": "cxsim.datasets",
    "excel": "cxsim.outputs.excel",
    "model": "cxsim.model",
    "montecarlo": "cxsim.montecarlo",
    "outputs": "cxsim.outputs",
    "plotting": "cxsim.outputs.plotting",
    "report": "cxsim.outputs.report",
    "scenario": "cxsim.scenario",
    "uncertainty": "cxsim.uncertainty",
}

__all__ = [
    "__version__",
    "BreakEven",
    "CalibrationError",
    "Comparison",
    "CxsimError",
    "OptimizationResult",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "Summary",
    "SummaryResult",
    "breakeven",
    "compare",
    "group_values",
    "load_scenario",
    "optimize",
    "simulate",
    "sobol",
    "tornado",
    "value_of_listening",
    "variance_shares",
    "waterfall_by_group",
    "waterfall_by_lever",
]


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(_SUBMODULES[name])
    else:
        raise AttributeError(f"module 'cxsim' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_NAMES, *_SUBMODULES})
