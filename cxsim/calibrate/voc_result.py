"""The result of :func:`cxsim.calibrate.voc.fit_voc`: estimates, intervals, calibration file.

``VocResult`` holds per-segment estimates of churn reduction, pain shares, promoter gain,
detractor reduction and wallet gain with their intervals, the fitted models' coefficients
and diagnostics; it prints as text and HTML (a :class:`~cxsim.outputs.fitted.Report`), plots
the pain shares and writes the scenario fragment a scenario includes (docs/model.md §7).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cxsim.calibrate.files import provenance, write_calibration
from cxsim.calibrate.reporting import FixedTable
from cxsim.calibrate.voc_cells import SegmentCells
from cxsim.errors import CalibrationError
from cxsim.outputs.fitted import FitResult, Report, Table, check_level

__all__ = ["VocResult", "yaml_shares"]

_METHOD = (
    "fit_voc: per-segment logistic regressions (churn, promoter >= 9, detractor <= 6) and "
    "least squares of log(spend_after/spend_before) on 0/1 gap indicators, fitted on "
    "gap-pattern cells; counterfactual 'gaps set to 0' effects (population attributable "
    "fraction, docs/model.md §7)"
)
#: Valid ranges written as truncation bounds. The scenario schema takes every response as a
#: share in [0, 1], so a promoter gain is truncated at 0 too (a negative estimate is noted).
_RANGES = {
    "churn_reduction": (0.0, 1.0),
    "promoter_gain": (0.0, 1.0),
    "detractor_reduction": (0.0, 1.0),
}
_SCALARS = ("churn_reduction", "promoter_gain", "detractor_reduction", "wallet_lift", "wallet_gain")
_KEYS = ["segment", "parameter"]


class VocResult(FitResult):
    """Result of :func:`fit_voc`.

    A :class:`~cxsim.outputs.fitted.FitResult` indexed by ``(segment, parameter)``; its
    intervals are bootstrap percentiles, or delta-method normal intervals without bootstrap.

    Attributes
    ----------
    estimates_ : pandas.DataFrame
        ``segment, parameter, estimate, se, lower, upper``: ``churn_reduction``,
        ``promoter_gain``, ``detractor_reduction``, ``wallet_lift`` (relative), ``wallet_gain``
        (when ``share_of_wallet`` was given) and ``pain_share.<group>``; ``se`` is the bootstrap
        SD (or the delta-method SE when ``bootstrap=0``), the interval the percentile
        (or normal) interval at ``level``.
    params_, se_ : pandas.Series
        Estimates and standard errors indexed by ``(segment, parameter)``.
    pain_share_ : pandas.DataFrame
        Segment × group point estimates; rows sum to 1.
    models_ : pandas.DataFrame
        Coefficients of every per-segment model (``outcome`` churn, promoter, detractor, spend)
        with SE, z, p-value and ``ratio`` (odds ratio; spend multiplier for spend).
    diagnostics_ : pandas.DataFrame
        Per segment: rows used and dropped, churn events and rate, promoter and detractor
        shares, pattern and cell counts, AUC, McFadden pseudo-R² and deviances of the churn
        model, Newton iterations, failed bootstrap replicates.
    bootstrap_ : pandas.DataFrame or None
        The replicates (B rows; columns ``(segment, parameter)``).
    groups, gap_columns, columns, share_of_wallet, bootstrap, seed, level, data_sha256
        The fit's settings: gap groups and their columns, the survey's columns, baseline
        shares of wallet, replicates, seed, confidence level and the hash of the data used.
    notes : list of str
        Everything the fit wants the reader to know.
    """

    error = CalibrationError

    def __init__(
        self,
        estimates_: pd.DataFrame,
        pain_share_: pd.DataFrame,
        models_: pd.DataFrame,
        diagnostics_: pd.DataFrame,
        bootstrap_: pd.DataFrame | None,
        groups: list[str],
        gap_columns: dict[str, str],
        columns: dict[str, str | None],
        share_of_wallet: dict[Any, float] | None,
        bootstrap: int,
        seed: int,
        level: float,
        data_sha256: str,
        notes: list[str] | None = None,
    ):
        # NOTE: the table is stored, not derived from params_ and se_ as the base class does:
        # its intervals come from the replicates (or the delta method) at fit time.
        self._estimates = estimates_
        self.pain_share_ = pain_share_
        self.models_ = models_
        self.diagnostics_ = diagnostics_
        self.bootstrap_ = bootstrap_
        self.groups = groups
        self.gap_columns = gap_columns
        self.columns = columns
        self.share_of_wallet = share_of_wallet
        self.bootstrap = bootstrap
        self.seed = seed
        self.level = level
        self.data_sha256 = data_sha256
        self.notes = [] if notes is None else notes

    @classmethod
    def from_parts(cls, parts: list[dict[str, Any]], *, groups: list[str], **kwargs) -> VocResult:
        """Gather the per-segment fits of :func:`fit_voc` into one result.

        ``parts`` holds, per segment, its cells, point values, delta-method SEs, bootstrap
        replicates (or None), model table, diagnostics and notes; ``kwargs`` are the settings
        the result keeps (``level`` among them).
        """
        rows, reps, pain, notes = [], {}, {}, []
        for part in parts:
            seg: SegmentCells = part["segment"]
            values, se, boot = part["values"], part["se"], part["replicates"]
            share = np.zeros(len(groups))
            share[seg.active] = values["pain_share"]
            pain[seg.name] = share
            for key in [k for k in _SCALARS if k in values] + [f"pain_share.{g}" for g in groups]:
                if key.startswith("pain_share."):
                    j = groups.index(key.split(".", 1)[1])
                    est = share[j]
                    a = np.flatnonzero(seg.active == j)
                    delta = float(se["pain_share"][a[0]]) if a.size else 0.0
                    draws = None
                    if boot is not None:  # a group nobody reports has a share of exactly 0
                        draws = (
                            boot["pain_share"][:, a[0]]
                            if a.size
                            else np.zeros(len(boot[_SCALARS[0]]))
                        )
                else:
                    est, delta = float(values[key]), float(se[key][0])
                    draws = None if boot is None else boot[key]
                if draws is None:
                    sd = delta
                else:
                    reps[(seg.name, key)] = draws
                    sd = float(np.nanstd(draws, ddof=1))
                rows.append((seg.name, key, float(est), sd))
            notes += part["notes"]
        boot_frame = None
        if reps:
            boot_frame = pd.DataFrame(reps)
            boot_frame.columns.names = _KEYS
        estimates = pd.DataFrame(rows, columns=[*_KEYS, "estimate", "se"])
        ci = _intervals(estimates, boot_frame, kwargs["level"])
        estimates["lower"], estimates["upper"] = ci["lower"].to_numpy(), ci["upper"].to_numpy()
        pain_share = pd.DataFrame(pain, index=groups).T
        pain_share.index.name, pain_share.columns.name = "segment", "group"
        if kwargs["share_of_wallet"] is None and parts and "wallet_lift" in parts[0]["values"]:
            notes.append(
                "wallet_gain omitted: pass share_of_wallet (the baseline w0) to turn the relative "
                "wallet_lift into share-of-wallet points"
            )
        for segment, key, est, _ in rows:
            lo, hi = {**_RANGES, "wallet_gain": (0.0, 1.0)}.get(key, (-np.inf, np.inf))
            if not lo <= est <= hi:
                notes.append(
                    f"segment {segment!r}: {key} = {est:.4g} lies outside its valid range "
                    f"[{lo:g}, {hi:g}]; the calibration file truncates its distribution there"
                )
            if key.startswith("pain_share.") and est < 0:
                notes.append(
                    f"segment {segment!r}: {key} = {est:.4g} < 0 (removing the gap would raise "
                    "churn); the calibration file sets it to 0 and rescales the others"
                )
        return cls(
            estimates_=estimates,
            pain_share_=pain_share,
            models_=pd.concat([p["models"] for p in parts], ignore_index=True),
            diagnostics_=pd.DataFrame([p["diagnostics"] for p in parts]),
            bootstrap_=boot_frame,
            groups=groups,
            notes=notes,
            **kwargs,
        )

    @property
    def estimates_(self) -> pd.DataFrame:
        """``segment, parameter, estimate, se, lower, upper`` at ``level``, as fitted."""
        return self._estimates

    @property
    def params_(self) -> pd.Series:
        """Estimates indexed by ``(segment, parameter)``."""
        return self._estimates.set_index(_KEYS)["estimate"]

    @property
    def se_(self) -> pd.Series:
        """Standard errors (bootstrap SD, or delta method) indexed by ``(segment, parameter)``."""
        return self._estimates.set_index(_KEYS)["se"]

    @property
    def churn_models_(self) -> pd.DataFrame:
        """The churn logistic regressions (coefficients, SE, z, p, odds ratios) per segment."""
        m = self.models_[self.models_["outcome"] == "churn"].drop(columns="outcome")
        return m.rename(columns={"ratio": "odds_ratio"}).reset_index(drop=True)

    @property
    def rows_used(self) -> int:
        """Respondents used, over all segments."""
        return int(self.diagnostics_["rows_used"].sum())

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Intervals per ``(segment, parameter)``: bootstrap percentiles, or normal (delta).

        ``level=None`` (or the fit's ``level``) gives the intervals of ``estimates_``.
        """
        if level is None or level == self.level:
            return self._estimates.set_index(_KEYS)[["lower", "upper"]].copy()
        return _intervals(self._estimates, self.bootstrap_, check_level(level, self.error))

    def _interval_label(self) -> str:
        if self.bootstrap:
            return f"{self.level:.0%} bootstrap percentile intervals (B={self.bootstrap})"
        return f"{self.level:.0%} delta-method normal intervals (gap mix held fixed)"

    def summary(self) -> Report:
        """Estimates, pain shares, churn models, diagnostics and notes; prints as text."""
        d = self.diagnostics_.set_index("segment")
        # Diagnostics mix counts and rates: format each value by its own type, then transpose.
        diag = pd.DataFrame(
            {c: [f"{v:.4f}" if isinstance(v, float) else f"{v}" for v in d[c]] for c in d.columns},
            index=d.index,
        ).T
        return Report(
            "VoC calibration (fit_voc, docs/model.md §7)",
            [
                f"rows used {self.rows_used:,} (dropped 0) in {len(self.pain_share_)} segment(s); "
                f"{len(self.groups)} gap group(s); {self._interval_label()}"
            ],
            [
                FixedTable("Response parameters", self.estimates_, index=False),
                FixedTable(
                    "Pain shares (share of removable churn per group; rows sum to 1)",
                    self.pain_share_,
                ),
                FixedTable(
                    "Churn models (logistic regression on the gap indicators)",
                    self.churn_models_,
                    index=False,
                ),
                Table("Diagnostics", diag),
            ],
            list(self.notes),
        )

    def __repr__(self) -> str:
        return (
            f"VocResult(segments={list(self.pain_share_.index)}, groups={self.groups}, "
            f"rows_used={self.rows_used}, bootstrap={self.bootstrap})"
        )

    def plot(self, ax=None):
        """Pain-share bars per segment with their intervals; the legend gives each churn
        reduction with its interval. Returns the Axes."""
        from cxsim.outputs.plotting import axes_or_new, legend

        ax = axes_or_new(ax, (7, 1 + 0.5 * len(self.groups)))
        est = self.estimates_.set_index(["segment", "parameter"])
        segs = list(self.pain_share_.index)
        height = 0.8 / len(segs)
        pos = np.arange(len(self.groups))
        for i, s in enumerate(segs):
            keys = [(s, f"pain_share.{g}") for g in self.groups]
            mid = est.loc[keys, "estimate"].to_numpy()
            err = np.abs(est.loc[keys, ["lower", "upper"]].to_numpy().T - mid)
            c = est.loc[(s, "churn_reduction")]
            ax.barh(
                pos + i * height,
                mid,
                height=height,
                xerr=err,
                capsize=2,
                label=f"{s}: churn reduction {c.estimate:.2f} [{c.lower:.2f}, {c.upper:.2f}]",
            )
        ax.set(
            yticks=pos + height * (len(segs) - 1) / 2,
            yticklabels=self.groups,
            xlabel="pain share (share of removable churn)",
            title="VoC calibration: who owns the removable churn",
        )
        legend(ax)
        return ax

    def to_yaml(
        self, path: str | os.PathLike[str], data_file: str | os.PathLike[str] | None = None
    ):
        """Write the calibration file: response distributions, pain shares, provenance.

        ``segments.<s>.responses.{churn_reduction, promoter_gain, detractor_reduction,
        wallet_gain}`` become truncated normals (mean = estimate, sd = bootstrap SD, bounds =
        the valid range); ``work_groups.<g>.pain_share.<s>`` are point estimates (negative
        shares set to 0, rows rescaled to sum to 1); intervals go into the provenance.
        """
        est = self.estimates_.set_index(["segment", "parameter"])
        segments: dict[str, Any] = {}
        degenerate = []
        for s in self.pain_share_.index:
            responses = {}
            for key in ("churn_reduction", "promoter_gain", "detractor_reduction", "wallet_gain"):
                if (s, key) not in est.index:
                    continue
                row = est.loc[(s, key)]
                lo, hi = _RANGES.get(key, (0.0, 1.0 - (self.share_of_wallet or {}).get(s, 0.0)))
                if not (np.isfinite(row.se) and row.se > 0):
                    degenerate.append(f"{s}.{key}")
                    responses[key] = _sig(min(max(row.estimate, lo), hi))
                    continue
                responses[key] = {
                    "dist": "normal",
                    "mean": _sig(row.estimate),
                    "sd": _sig(row.se),
                    "min": lo,
                    "max": hi,
                }
            segments[str(s)] = {"responses": responses}
        work_groups: dict[str, Any] = {g: {"pain_share": {}} for g in self.groups}
        for s, row in self.pain_share_.iterrows():
            share = yaml_shares(row.to_numpy())
            for g, v in zip(self.groups, share, strict=True):
                work_groups[g]["pain_share"][str(s)] = v
        intervals = {
            g: {
                str(s): [
                    _sig(est.loc[(s, f"pain_share.{g}"), "lower"]),
                    _sig(est.loc[(s, f"pain_share.{g}"), "upper"]),
                ]
                for s in self.pain_share_.index
            }
            for g in self.groups
        }
        lifts = {
            str(s): {
                k: _sig(est.loc[(s, "wallet_lift"), k]) for k in ("estimate", "lower", "upper")
            }
            for s in self.pain_share_.index
            if (s, "wallet_lift") in est.index
        }
        notes = list(self.notes)
        if degenerate:
            notes.append(f"degenerate interval (sd 0), written as a point value: {degenerate}")
        record = provenance(
            method=_METHOD,
            rows_used=self.rows_used,
            rows_dropped=int(self.diagnostics_["rows_dropped"].sum()),
            data_file=data_file,
            data_sha256=None if data_file is not None else self.data_sha256,
            **({"frame_sha256": self.data_sha256} if data_file is not None else {}),
            intervals=self._interval_label(),
            bootstrap=self.bootstrap,
            seed=self.seed,
            level=self.level,
            columns={k: v for k, v in self.columns.items() if v is not None},
            gap_columns=self.gap_columns,
            rows_per_segment={
                str(r.segment): int(r.rows_used) for r in self.diagnostics_.itertuples()
            },
            share_of_wallet=None
            if self.share_of_wallet is None
            else {str(k): v for k, v in self.share_of_wallet.items()},
            wallet_lift=lifts or None,
            pain_share_intervals=intervals,
            notes=notes,
        )
        header = (
            "VoC calibration: response parameters and pain shares from respondent-level data\n"
            "(fit_voc; counterfactual 'gaps set to 0' effects of docs/model.md §7)."
        )
        fragment = {"segments": segments, "work_groups": work_groups}
        return write_calibration(path, fragment, "voc", record, header=header)


def _sig(x: float, digits: int = 6) -> float:
    return float(f"{float(x):.{digits}g}")


def yaml_shares(share: np.ndarray) -> list[float]:
    """Point pain shares for the scenario: >= 0, rounded, summing to 1 (0 if no signal)."""
    share = np.clip(np.asarray(share, float), 0, None)
    if share.sum() <= 0:
        return [0.0] * len(share)
    share = np.round(share / share.sum(), 6)
    top = int(np.argmax(share))
    share[top] = round(1 - (share.sum() - share[top]), 6)
    return [float(v) for v in share]


def _intervals(estimates: pd.DataFrame, boot: pd.DataFrame | None, level: float) -> pd.DataFrame:
    """``lower``, ``upper`` per ``(segment, parameter)`` at ``level``.

    Percentiles of the bootstrap replicates; without them normal intervals from the
    delta-method standard errors.
    """
    est = estimates.set_index(_KEYS)
    q = (1 - level) / 2
    if boot is None:
        z = stats.norm.ppf(1 - q)
        return pd.DataFrame(
            {"lower": est["estimate"] - z * est["se"], "upper": est["estimate"] + z * est["se"]}
        )
    rows = [np.nanpercentile(boot[key], [100 * q, 100 * (1 - q)]) for key in est.index]
    return pd.DataFrame(rows, index=est.index, columns=["lower", "upper"], dtype=float)
