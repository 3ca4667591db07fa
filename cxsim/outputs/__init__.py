"""What users read: the result of a run, its summary, the printed case, the workbook, plots."""

from cxsim.outputs.result import SimulationResult
from cxsim.outputs.summary import Summary
from cxsim.outputs.views import BaseResult

__all__ = ["BaseResult", "SimulationResult", "Summary"]
