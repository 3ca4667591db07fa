"""Monthly leading vs lagging series → perception dead time, smoothing time and effect size.

cxsim's perception lag (docs/model.md §3) turns gap closure ``G(t)`` into perceived closure::

    X(t) = X(t-1) + lam * (G(t - delay) - X(t-1)),   lam = 1 - exp(-1/lag)   (lag = 0: lam = 1)

with ``X(-1) = 0`` and ``G(t) = 0`` before the series starts (the simulator starts with no
programme). A lagging indicator responds linearly (docs/model.md §4)::

    lagging(t) = intercept + effect * X(t) + noise

so ``effect`` is the change in the lagging indicator at full perceived closure (``X = 1``).
A fractional ``delay`` interpolates linearly between ``G(t - floor(delay))`` and
``G(t - ceil(delay))``, which makes the fit continuous in ``delay``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from cxsim.calibrate.files import frame_sha256, provenance, write_calibration
from cxsim.calibrate.lag_search import (
    MIN_MONTHS,
    PARAMETERS,
    align_series,
    auto_block_length,
    block_bootstrap,
    grid_search,
    ols,
)
from cxsim.calibrate.reporting import estimate_table
from cxsim.errors import CalibrationError
from cxsim.model.propagation import perceived
from cxsim.outputs.fitted import POOLED, FitResult, Report, Table, check_level

__all__ = ["LagResult", "fit_lag", "perceived_closure"]

METHOD = (
    "least squares on the perception-lag filter (dead time + geometric smoothing), "
    "intercept and effect profiled by OLS; residual moving-block bootstrap"
)


def perceived_closure(leading, delay: float, lag: float) -> np.ndarray:
    """Apply the engine's perception filter to one gap-closure series.

    This is :func:`cxsim.model.propagation.perceived` on a single series, so the delay and
    lag this module fits are exactly the ones the simulator applies.

    Parameters
    ----------
    leading : array-like
        Gap closure ``G(t)``, one value per month; values before the first are taken as 0.
    delay : float
        Dead time ``delay >= 0`` in months (fractional values interpolate).
    lag : float
        Smoothing time ``lag >= 0`` in months; ``lam = 1 - exp(-1/lag)``, ``lag = 0`` gives
        ``lam = 1`` (no smoothing).

    Returns
    -------
    ndarray
        Perceived closure ``X(t)``.

    References
    ----------
    docs/model.md §4 (perception dead time and smoothing, geometric adstock).

    Examples
    --------
    >>> perceived_closure([1.0, 1.0, 1.0, 1.0], delay=1, lag=0).tolist()
    [0.0, 1.0, 1.0, 1.0]
    """
    g = np.asarray(leading, dtype=float)
    return perceived(g[None, None, :], np.array([[float(delay)]]), np.array([[float(lag)]]))[0, 0]


def fit_lag(
    leading,
    lagging,
    *,
    max_delay: int = 12,
    max_lag: float | None = None,
    time=None,
    n_boot: int = 200,
    block_length: int | None = None,
    seed: int | np.random.Generator | None = 0,
) -> LagResult:
    """Fit the perception dead time, smoothing time and effect size to monthly series.

    Parameters
    ----------
    leading : array-like or Series
        Monthly gap closure / work-group progress (0..1 at full closure), used as given;
        months before the series start count as 0.
    lagging : array-like or Series
        Monthly lagging indicator (NPS, churn, ...), same length. When both are Series their
        indexes are aligned (months missing from one become NaN and are reported).
    max_delay : int
        Largest dead time searched, in months.
    max_lag : float, optional
        Largest smoothing time searched (default: half the series, at most 36 months).
    time : array-like, optional
        Month labels (default: the Series index, else 0, 1, ...); used in messages and plots.
    n_boot : int
        Bootstrap replications for intervals and standard errors (0: none).
    block_length : int, optional
        Block length of the moving-block residual bootstrap. Default: 1 when the residuals
        look like white noise (lag-1 autocorrelation within ±2/sqrt(n)), else ``ceil(n**(1/3))``.
    seed : int or Generator
        Randomness of the bootstrap; the default 0 makes calibration files reproducible.

    Returns
    -------
    LagResult

    Raises
    ------
    CalibrationError
        Series of different lengths, NaN or infinite values, fewer than 24 months, or a
        constant series.

    Notes
    -----
    For each ``(delay, lag)`` the intercept and effect are ordinary least squares, so the fit
    searches two dimensions: a grid (delay in 0.1-month steps, a dense grid of lags), then three
    rounds of a finer local grid around the best point (to 1e-4 of a step). Every grid point
    runs the engine's own perception filter (:func:`perceived_closure`). Intervals: residuals
    (rescaled by ``sqrt(n / (n - 4))`` for the four fitted parameters) are resampled in circular
    blocks (keeping their autocorrelation), added to the fitted values, and the grid fit is
    repeated for every replication at once (one matrix product); percentile intervals. Dead time
    and smoothing time trade off along a ridge (a ramp smoothed by ``lag`` looks like a ramp
    delayed by ``lag``); they are told apart by sharp changes in the leading series, and the
    bootstrap intervals show how well the data did that.

    References
    ----------
    Künsch, H. R. (1989). The jackknife and the bootstrap for general stationary
    observations. *Annals of Statistics*, 17(3), 1217–1241.
    docs/model.md §3–4.

    Examples
    --------
    >>> months = np.arange(48)
    >>> leading = np.clip((months - 6) / 12, 0, 1)
    >>> nps = 10 + 30 * perceived_closure(leading, delay=2, lag=4)
    >>> fit = fit_lag(leading, nps + np.sin(months), n_boot=0)
    >>> round(fit.delay_), round(fit.lag_)
    (2, 4)
    """
    g, y, labels, names = align_series(leading, lagging, time)
    n = g.size
    if not (isinstance(max_delay, (int, np.integer)) and 0 <= max_delay <= n - MIN_MONTHS // 2):
        raise CalibrationError(
            f"max_delay must be a whole number of months in 0..{n - MIN_MONTHS // 2}, "
            f"got {max_delay!r}"
        )
    max_lag = float(min(36.0, n / 2) if max_lag is None else max_lag)
    if not max_lag > 0:
        raise CalibrationError(f"max_lag must be positive, got {max_lag!r}")
    delay, lag, grid = grid_search(g, y, max_delay, max_lag)
    x = perceived_closure(g, delay, lag)
    intercept, effect = ols(x, y)
    fitted = intercept + effect * x
    resid = y - fitted
    r2 = 1 - resid @ resid / np.sum((y - y.mean()) ** 2)

    n_boot = int(n_boot)
    if n_boot < 0:
        raise CalibrationError(f"n_boot must be >= 0, got {n_boot}")
    block = auto_block_length(resid) if block_length is None else int(block_length)
    if block < 1:
        raise CalibrationError(f"block_length must be >= 1, got {block_length!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    boot = block_bootstrap(grid, fitted, resid, n_boot, block, rng)
    return LagResult(
        delay=delay,
        lag=lag,
        effect=effect,
        intercept=intercept,
        r2=float(r2),
        boot=boot,
        frame=pd.DataFrame({"leading": g, "lagging": y, "fitted": fitted}, index=labels),
        names=names,
        settings={
            "max_delay": int(max_delay),
            "max_lag": max_lag,
            "n_boot": n_boot,
            "block_length": block,
            "seed": seed if isinstance(seed, (int, np.integer)) else None,
        },
    )


class LagResult(FitResult):
    """A fitted perception lag: dead time, smoothing time and effect on a lagging indicator.

    A :class:`~cxsim.outputs.fitted.FitResult` whose intervals are bootstrap percentiles.

    Attributes
    ----------
    delay_ : float
        Dead time ``delay`` in months (continuous optimum).
    lag_ : float
        Smoothing time ``tau`` in months (``lam = 1 - exp(-1/tau)``).
    effect_ : float
        Change of the lagging indicator at full perceived closure (``X = 1``).
    intercept_ : float
        Lagging indicator with no perceived closure.
    params_, se_ : Series
        Estimates and bootstrap standard errors, indexed delay, lag, effect, intercept
        (``se_`` is NaN without bootstrap).
    estimates_ : DataFrame
        ``segment, parameter, estimate, se, lower, upper`` (95% percentile intervals; NaN
        without bootstrap).
    r2_ : float
        Share of the lagging indicator's variance explained.
    boot_ : DataFrame
        One row per bootstrap replication.
    fitted_, resid_ : Series
        Fitted lagging indicator and residuals, indexed by month.
    n_obs_ : int
        Months used.
    """

    error = CalibrationError

    def __init__(self, *, delay, lag, effect, intercept, r2, boot, frame, names, settings):
        self.delay_ = float(delay)
        self.lag_ = float(lag)
        self.effect_ = float(effect)
        self.intercept_ = float(intercept)
        self.params_ = pd.Series([delay, lag, effect, intercept], index=PARAMETERS, name="estimate")
        self.boot_ = boot
        sd = boot.std(ddof=1) if len(boot) > 1 else pd.Series(np.nan, index=PARAMETERS)
        self.se_ = sd.reindex(PARAMETERS).rename("se")
        self.r2_ = r2
        self.n_obs_ = len(frame)
        self.fitted_ = frame["fitted"].rename("fitted")
        self.resid_ = (frame["lagging"] - frame["fitted"]).rename("resid")
        self.names = names
        self.settings = settings
        self._frame = frame

    def perceived(self, leading):
        """Perceived closure ``X(t)`` of a leading series under the fitted delay and lag."""
        x = perceived_closure(np.asarray(leading, dtype=float), self.delay_, self.lag_)
        return (
            pd.Series(x, index=leading.index, name="perceived")
            if isinstance(leading, pd.Series)
            else x
        )

    def predict(self, leading):
        """Lagging indicator predicted from a leading series: ``intercept + effect * X(t)``."""
        return self.intercept_ + self.effect_ * self.perceived(leading)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Percentile bootstrap intervals (rows delay, lag, effect, intercept)."""
        check_level(level, self.error)
        if len(self.boot_) < 2:
            raise CalibrationError("no bootstrap replications: fit again with n_boot > 0")
        q = self.boot_.quantile([(1 - level) / 2, (1 + level) / 2]).T
        q.columns = ["lower", "upper"]
        return q.reindex(PARAMETERS)

    @property
    def estimates_(self) -> pd.DataFrame:
        """Tidy table ``segment, parameter, estimate, se, lower, upper`` (at ``level``).

        A fit without bootstrap replications has no standard errors or intervals: those
        columns are NaN rather than an error, so the table always exists.
        """
        if len(self.boot_) > 1:
            return super().estimates_
        missing = np.full(len(PARAMETERS), np.nan)
        return pd.DataFrame(
            {
                "segment": POOLED,
                "parameter": PARAMETERS,
                "estimate": self.params_.to_numpy(dtype=float),
                "se": missing,
                "lower": missing,
                "upper": missing,
            }
        )

    def summary(self) -> Report:
        """Estimates, bootstrap standard errors and 95% intervals; prints as text."""
        return Report(
            "Perception lag fit: lagging = intercept + effect * X(t)",
            [
                f"leading: {self.names[0]}    lagging: {self.names[1]}    months: {self.n_obs_}",
                f"R²: {self.r2_:.3f}    bootstrap: {self.settings['n_boot']} replications, "
                f"block length {self.settings['block_length']} month(s)",
                "delay, lag in months; effect = change in the lagging indicator at full closure",
            ],
            [Table("", estimate_table(self, intervals=len(self.boot_) > 1))],
        )

    def plot(self, ax=None):
        """Observed and fitted lagging indicator, with the leading series on a twin axis.

        Returns
        -------
        Axes
            The primary (lagging indicator) axes.
        """
        from cxsim.outputs.plotting import axes_or_new, legend

        ax = axes_or_new(ax)
        frame = self._frame
        x = np.arange(len(frame))
        ax.plot(x, frame["lagging"], ".", color="C0", label=f"{self.names[1]} (observed)")
        ax.plot(x, frame["fitted"], "-", color="C0", label="fitted")
        twin = ax.twinx()
        twin.plot(x, frame["leading"], "--", color="C1", label=f"{self.names[0]} (leading)")
        twin.plot(
            x,
            self.perceived(frame["leading"].to_numpy()),
            ":",
            color="C1",
            label="perceived closure",
        )
        twin.set(ylabel=self.names[0])
        step = max(1, len(frame) // 6)
        ax.set_xticks(x[::step], [str(v) for v in frame.index[::step]])
        ax.set(
            xlabel="month",
            ylabel=self.names[1],
            title=f"delay {self.delay_:.1f} mo, lag {self.lag_:.1f} mo",
        )
        lines = ax.get_legend_handles_labels()
        more = twin.get_legend_handles_labels()
        # Below the axes: the twin axis takes the right-hand side.
        legend(
            ax,
            handles=lines[0] + more[0],
            labels=lines[1] + more[1],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.15),
            ncol=2,
        )
        return ax

    def to_yaml(
        self,
        path: str | os.PathLike[str],
        segment: str | None = None,
        data_file: str | os.PathLike[str] | None = None,
    ):
        """Write ``responses.perception_delay_months`` and ``perception_lag_months``.

        Both are truncated normals ``{dist: normal, mean: estimate, sd: bootstrap sd, min: 0}``;
        with ``segment`` they go under ``segments.<segment>.responses``. The effect size and
        all intervals go into the provenance record. A parameter whose bootstrap sd is 0 (every
        replication agreed) is written as a point value, and the provenance says so.

        Returns
        -------
        pathlib.Path
        """
        ci = self.conf_int()
        responses: dict[str, Any] = {}
        degenerate = []
        for name, key in (("delay", "perception_delay_months"), ("lag", "perception_lag_months")):
            sd = float(self.se_[name])
            if sd > 0:
                # Truncate to the range the fit searched: 0..max_delay for the dead time
                # (a scenario rejects delays beyond its horizon), 0..max_lag for the lag.
                upper = self.settings["max_delay" if name == "delay" else "max_lag"]
                responses[key] = {
                    "dist": "normal",
                    "mean": self.params_[name],
                    "sd": sd,
                    "min": 0.0,
                    "max": float(upper),
                }
            else:
                responses[key] = self.params_[name]
                degenerate.append(key)
        fragment = (
            {"responses": responses}
            if segment is None
            else {"segments": {segment: {"responses": responses}}}
        )
        data = self._frame[["leading", "lagging"]].reset_index(drop=True)
        record = provenance(
            method=METHOD,
            rows_used=self.n_obs_,
            rows_dropped=0,
            data_file=data_file,
            data_sha256=None if data_file is not None else frame_sha256(data),
            leading=self.names[0],
            lagging=self.names[1],
            estimates={n: self.params_[n] for n in PARAMETERS},
            se={n: self.se_[n] for n in PARAMETERS},
            conf_int_95={n: [ci.loc[n, "lower"], ci.loc[n, "upper"]] for n in PARAMETERS},
            effect_size=self.effect_,
            effect_meaning="change in the lagging indicator at full perceived closure (X = 1)",
            r2=self.r2_,
            degenerate_intervals=degenerate,
            **self.settings,
        )
        name = "perception_lag" + (f"_{segment}" if segment else "") + f"_{self.names[1]}"
        header = f"Perception lag calibration from {self.names[0]!r} → {self.names[1]!r}"
        return write_calibration(path, fragment, name, record, header=header)
