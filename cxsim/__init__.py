"""cxsim — simulate the return on customer-experience work.

Progress on leading indicators (CX design and improvement per work group) propagates,
with delays and uncertainty, into lagging indicators (retention, loyalty, cost to
serve, CLV, revenue, profit) and the programme's NPV, ROI and payback.

The public API::

    scenario = cxsim.load_scenario("scenarios/retail_bank.yaml")
    result = cxsim.simulate(scenario, draws=1000, seed=7)
    result.summary()

What-if and decisions: ``cxsim.compare``, ``cxsim.tornado``, ``cxsim.breakeven``,
``cxsim.waterfall_by_lever`` / ``waterfall_by_group``, ``cxsim.optimize``. Calibration
against data: :mod:`cxsim.calibrate`.
"""

from cxsim._version import __version__
from cxsim.attribution import waterfall_by_group, waterfall_by_lever
from cxsim.comparison import Comparison, compare
from cxsim.errors import CalibrationError, CxsimError, ScenarioError
from cxsim.montecarlo import simulate
from cxsim.planning import OptimizationResult, optimize
from cxsim.results import SimulationResult, Summary
from cxsim.scenario import Scenario, load_scenario
from cxsim.sensitivity import BreakEven, breakeven, tornado

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
    "breakeven",
    "compare",
    "load_scenario",
    "optimize",
    "simulate",
    "tornado",
    "waterfall_by_group",
    "waterfall_by_lever",
]
