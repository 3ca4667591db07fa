"""Write ``cohort_retention.csv`` and ``indicator_series.csv``: synthetic data with known truth.

Run ``python data/make_cohort_and_series.py`` (or call ``main(seed=...)``); the same seed
always writes the same files. Only numpy and pandas are used, and the equations are coded
here independently of cxsim, so fitting these files with ``cxsim.calibrate`` is a test of
recovery, not of self-consistency.

``cohort_retention.csv`` — annual cohorts of a retail-bank-like business
    Columns ``cohort`` (acquisition year 2015–2021), ``year`` (years since acquisition, 0 =
    initial size) and ``active`` (customers still active), long format. Each customer draws an
    annual churn probability ``theta ~ Beta(alpha=0.8, beta=5.0)`` and then leaves at the end
    of year ``T ~ Geometric(theta)`` (T = 1, 2, ...): the shifted-beta-geometric model (Fader &
    Hardie 2007). Cohort sizes are drawn uniformly from 3,000–6,000. The data end with year
    2022, so cohort ``c`` is observed for years ``0..2022 - c`` (2015: 0–7, 2021: 0–1): younger
    cohorts are right-censored. Fit with
    ``fit_sbg(df, period="year", cohort_col="cohort", period_col="year", count_col="active")``.

``indicator_series.csv`` — 60 months (2019-01 .. 2023-12) of leading and lagging indicators
    ``month`` (YYYY-MM); ``leading``: gap-closure index 0..1 of a CX programme, the sum of three
    work groups' linear ramps (billing +0.30 over months 6–9, support +0.25 over months 18–22,
    product +0.20 over months 30–38; month 0 = 2019-01), rounded to 3 decimals and free of
    noise (it is the programme office's own progress figure). Perceived closure follows the
    cxsim perception lag with dead time ``delay = 2`` months and smoothing ``lag = 4`` months::

        X(t) = X(t-1) + lam * (G(t - 2) - X(t-1)),  lam = 1 - exp(-1/4),  X(-1) = 0, G(t<0) = 0

    ``nps = 12 + 30 * X(t) + e``, ``e ~ N(0, 2.5²)``, rounded to 0.1 (NPS points; effect +30 at
    full closure); ``monthly_churn = 0.018 * (1 - 0.5 * X(t)) + u``, ``u ~ N(0, 0.0006²)``,
    rounded to 5 decimals (intercept 0.018, effect -0.009 at full closure, i.e. a churn
    reduction c = 0.5). The two noise series are independent.

References
----------
Fader, P. S. and Hardie, B. G. S. (2007). How to project customer retention. *Journal of
Interactive Marketing*, 21(1), 76–90.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# The package carries the data it loads (cxsim.datasets reads it with importlib.resources).
SHIPPED = Path(__file__).resolve().parent.parent / "cxsim" / "datasets" / "data"
SEED = 2024
SBG_ALPHA, SBG_BETA = 0.8, 5.0
COHORTS = range(2015, 2022)
LAST_YEAR = 2022
DELAY, LAG = 2, 4.0
NPS_INTERCEPT, NPS_EFFECT, NPS_SD = 12.0, 30.0, 2.5
CHURN_BASE, CHURN_REDUCTION, CHURN_SD = 0.018, 0.5, 0.0006
MONTHS = 60
# (start month, ramp months, gap closure added) per work group: billing, support, product
WORK_GROUPS = [(6, 3, 0.30), (18, 4, 0.25), (30, 8, 0.20)]


def cohort_retention(rng: np.random.Generator) -> pd.DataFrame:
    """Annual sBG cohorts, right-censored at ``LAST_YEAR``, in long format."""
    rows = []
    for cohort in COHORTS:
        size = int(rng.integers(3000, 6001))
        theta = rng.beta(SBG_ALPHA, SBG_BETA, size)
        tenure = rng.geometric(theta)  # year of churn, 1, 2, ...
        for year in range(LAST_YEAR - cohort + 1):
            rows.append((cohort, year, int((tenure > year).sum())))
    return pd.DataFrame(rows, columns=["cohort", "year", "active"])


def indicator_series(rng: np.random.Generator) -> pd.DataFrame:
    """Monthly leading gap closure and two lagging indicators responding with delay and lag."""
    month = np.arange(MONTHS)
    leading = sum(
        gain * np.clip((month - start) / ramp, 0.0, 1.0) for start, ramp, gain in WORK_GROUPS
    )
    leading = np.round(leading, 3)
    lam = 1.0 - np.exp(-1.0 / LAG)
    perceived = np.zeros(MONTHS)
    previous = 0.0
    for t in month:
        target = leading[t - DELAY] if t >= DELAY else 0.0
        previous = previous + lam * (target - previous)
        perceived[t] = previous
    nps = NPS_INTERCEPT + NPS_EFFECT * perceived + rng.normal(0.0, NPS_SD, MONTHS)
    churn = CHURN_BASE * (1.0 - CHURN_REDUCTION * perceived) + rng.normal(0.0, CHURN_SD, MONTHS)
    labels = pd.period_range("2019-01", periods=MONTHS, freq="M").strftime("%Y-%m")
    return pd.DataFrame(
        {
            "month": labels,
            "leading": leading,
            "nps": np.round(nps, 1),
            "monthly_churn": np.round(churn, 5),
        }
    )


def main(seed: int = SEED, out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Write both files (into the package's shipped data by default) and return their paths."""
    out = Path(out_dir) if out_dir is not None else SHIPPED
    out.mkdir(parents=True, exist_ok=True)
    cohort_rng, series_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)
    )
    cohorts_path = out / "cohort_retention.csv"
    series_path = out / "indicator_series.csv"
    cohort_retention(cohort_rng).to_csv(cohorts_path, index=False)
    indicator_series(series_rng).to_csv(series_path, index=False)
    return cohorts_path, series_path


if __name__ == "__main__":
    main()
