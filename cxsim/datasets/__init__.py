"""Shipped data and synthetic surveys with a known truth (for calibration examples and tests).

The data files live inside the package (:mod:`~cxsim.datasets.shipped`), so they load after
a plain ``pip install``. :mod:`~cxsim.datasets.voc_truth` and :mod:`~cxsim.datasets.survey`
simulate respondents whose population truth is known: the truth a fit should recover.
"""

from cxsim.datasets.shipped import (
    data_path,
    load_cohort_retention,
    load_indicator_series,
    load_voc_survey,
    shipped_files,
)
from cxsim.datasets.survey import make_voc_survey, voc_truth_of
from cxsim.datasets.voc_truth import SegmentTruth, expected_estimates, simulate_voc

__all__ = [
    "SegmentTruth",
    "data_path",
    "expected_estimates",
    "load_cohort_retention",
    "load_indicator_series",
    "load_voc_survey",
    "make_voc_survey",
    "shipped_files",
    "simulate_voc",
    "voc_truth_of",
]
