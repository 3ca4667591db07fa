"""Calibration: fit the model's uncertain inputs to data (docs/model.md §7).

Three fits, one module each; every result is a :class:`cxsim.outputs.fitted.FitResult`:
estimates with standard errors (``params_``, ``se_``), the tidy table ``estimates_``,
``conf_int(level)``, ``summary()`` (a :class:`~cxsim.outputs.fitted.Report`: text, and HTML in
Jupyter), ``plot(ax=None)`` and ``to_yaml(path, ...)``, which writes a *calibration file*
(:mod:`~cxsim.calibrate.files`): a scenario fragment that a scenario pulls in with
``include:``, with the estimates as distributions and a ``provenance`` record (data file hash,
rows used, method, cxsim version, date).

- :func:`fit_sbg` (:mod:`~cxsim.calibrate.retention`): cohort retention counts → the
  shifted-beta-geometric ``alpha``, ``beta`` of a segment by maximum likelihood (Fader & Hardie
  2007); writes ``segments.<s>.sbg``. :func:`cohorts_from_frame` reshapes a long table.
- :func:`fit_voc` (:mod:`~cxsim.calibrate.voc`): respondent-level voice-of-customer data (gaps
  experienced, likelihood to recommend, 12-month churn, spend) → per-segment churn reduction,
  promoter gain, detractor reduction, wallet gain and pain shares, read as what closing the
  gaps would change; writes ``segments.<s>.responses`` and ``work_groups.<g>.pain_share``.
- :func:`fit_lag` (:mod:`~cxsim.calibrate.lag`): monthly leading vs lagging series → the
  perception dead time ``δ``, smoothing time ``τ`` and effect size; writes
  ``responses.perception_delay_months`` and ``perception_lag_months``.

Each fit's machinery sits next to it: :mod:`~cxsim.calibrate.cohorts` (cohort tables in) and
:mod:`~cxsim.calibrate.sbg` (the likelihood) for retention; :mod:`~cxsim.calibrate.voc_checks`
(the survey's columns), :mod:`~cxsim.calibrate.voc_cells` (respondents → gap-pattern cells),
:mod:`~cxsim.calibrate.glm` (batched logistic and least-squares solvers) and
:mod:`~cxsim.calibrate.voc_result` for VoC; :mod:`~cxsim.calibrate.lag_search` (grids,
profiled least squares, block bootstrap) for the lag. :mod:`~cxsim.calibrate.reporting` holds
what their summaries share.

The command line runs the same fits: ``cxsim calibrate retention|voc|lag DATA.csv --out FILE``.

Examples
--------
>>> from cxsim.calibrate import fit_sbg
>>> round(fit_sbg([1000, 631, 468, 382, 326, 289, 262, 241]).alpha_, 3)
0.704
"""

from cxsim.calibrate.lag import LagResult, fit_lag
from cxsim.calibrate.retention import SBGResult, cohorts_from_frame, fit_sbg
from cxsim.calibrate.voc import VocResult, fit_voc

__all__ = [
    "LagResult",
    "SBGResult",
    "VocResult",
    "cohorts_from_frame",
    "fit_lag",
    "fit_sbg",
    "fit_voc",
]
