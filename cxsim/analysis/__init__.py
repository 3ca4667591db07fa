"""Questions asked of a scenario: sensitivity, attribution, comparison, planning."""

from cxsim.analysis.attribution import waterfall_by_group, waterfall_by_lever
from cxsim.analysis.comparison import Comparison, compare
from cxsim.analysis.global_sensitivity import sobol, variance_shares
from cxsim.analysis.group_values import group_values
from cxsim.analysis.planning import OptimizationResult, optimize
from cxsim.analysis.sensitivity import BreakEven, breakeven, tornado

__all__ = [
    "BreakEven",
    "Comparison",
    "OptimizationResult",
    "breakeven",
    "compare",
    "group_values",
    "optimize",
    "sobol",
    "tornado",
    "variance_shares",
    "waterfall_by_group",
    "waterfall_by_lever",
]
