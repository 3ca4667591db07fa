"""cxsim — simulate the return on customer-experience work.

Progress on leading indicators (CX design and improvement per work group) propagates,
with delays and uncertainty, into lagging indicators (retention, loyalty, cost to
serve, CLV, revenue, profit) and the programme's NPV, ROI and payback.

The public API::

    scenario = cxsim.load_scenario("scenarios/retail_bank.yaml")
    result = cxsim.simulate(scenario, draws=1000, seed=7)
    result.summary()
"""

from cxsim._version import __version__
from cxsim.errors import CalibrationError, CxsimError, ScenarioError
from cxsim.montecarlo import simulate
from cxsim.optimize import OptimizationResult, optimize
from cxsim.results import SimulationResult, Summary
from cxsim.scenario import Scenario, load_scenario

__all__ = [
    "__version__",
    "CalibrationError",
    "CxsimError",
    "OptimizationResult",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "Summary",
    "load_scenario",
    "optimize",
    "simulate",
]
