"""What users read: the result of a run, its summary, the printed case, the workbook, plots."""

from cxsim.outputs.result import SimulationResult, Summary

__all__ = ["SimulationResult", "Summary"]
