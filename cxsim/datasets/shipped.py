"""The data files shipped inside the package, read with :mod:`importlib.resources`.

They travel with the package, so they load after a plain ``pip install``, not only from a
source checkout (how each was made and its known truth: ``data/README.md`` in the repository):

- :func:`load_cohort_retention` — annual cohorts, long format (for
  :func:`~cxsim.calibrate.fit_sbg`);
- :func:`load_indicator_series` — monthly leading and lagging indicators (for
  :func:`~cxsim.calibrate.fit_lag`);
- :func:`load_voc_survey` — respondent-level survey (for :func:`~cxsim.calibrate.fit_voc`).

:func:`data_path` gives a file's path, e.g. to hand it to ``cxsim calibrate``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from cxsim.errors import CxsimError

__all__ = [
    "data_path",
    "load_cohort_retention",
    "load_indicator_series",
    "load_voc_survey",
    "shipped_files",
]

PACKAGE = "cxsim.datasets"
FOLDER = "data"


def shipped_files() -> list[str]:
    """Names of the data files shipped with cxsim.

    Examples
    --------
    >>> shipped_files()
    ['cohort_retention.csv', 'indicator_series.csv', 'voc_survey.csv']
    """
    folder = resources.files(PACKAGE) / FOLDER
    return sorted(item.name for item in folder.iterdir() if item.name.endswith(".csv"))


def data_path(name: str) -> Path:
    """Path of a shipped data file, e.g. ``data_path("voc_survey.csv")``.

    Raises
    ------
    CxsimError
        If no shipped file has that name (the message lists the ones there are).

    Examples
    --------
    >>> data_path("voc_survey.csv").name
    'voc_survey.csv'
    """
    resource = resources.files(PACKAGE) / FOLDER / name
    if not resource.is_file():
        raise CxsimError(f"no shipped data file {name!r} (available: {', '.join(shipped_files())})")
    # A package installed as files (pip's default) gives the file's own path.
    return Path(str(resource))


def load_cohort_retention() -> pd.DataFrame:
    """Annual acquisition cohorts 2015–2021 observed to 2022: ``cohort, year, active``.

    Synthetic sBG data with ``alpha = 0.8``, ``beta = 5.0`` (``data/README.md``).

    Examples
    --------
    >>> from cxsim.calibrate import fit_sbg
    >>> df = load_cohort_retention()
    >>> fit = fit_sbg(df, period="year", count_col="active")
    >>> 0.5 < fit.alpha_ < 1.2
    True
    """
    return pd.read_csv(data_path("cohort_retention.csv"))


def load_indicator_series() -> pd.DataFrame:
    """60 months of ``month, leading, nps, monthly_churn`` (``data/README.md``).

    Perception dead time 2 months and smoothing time 4 months; NPS effect +30 at full closure.
    """
    return pd.read_csv(data_path("indicator_series.csv"))


def load_voc_survey() -> pd.DataFrame:
    """24,000 survey respondents simulated from the flagship scenario (``data/README.md``).

    Columns ``respondent_id, segment, gap_<group> (0/1), ltr (0–10), churned_12m (0/1),
    spend_before, spend_after``; the truth is :func:`~cxsim.datasets.voc_truth_of` the flagship.
    """
    return pd.read_csv(data_path("voc_survey.csv"))
