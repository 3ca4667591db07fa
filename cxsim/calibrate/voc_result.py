"""The result of :func:`cxsim.calibrate.voc.fit_voc`: estimates, intervals, calibration file.

``VocResult`` holds per-segment estimates of churn reduction, pain shares, promoter gain,
detractor reduction and wallet gain with their intervals, the main-effects models'
coefficients, their goodness of fit and diagnostics; it prints as text and HTML (a
:class:`~cxsim.outputs.fitted.Report`), plots the pain shares and writes the scenario fragment
a scenario includes, with the table of its bootstrap replicates
(:mod:`cxsim.calibrate.voc_files`, docs/model.md §7).

What the notes say about values moved into range, unowned pain and poorly identified pain
shares is :mod:`cxsim.calibrate.voc_notes`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cxsim.calibrate.reporting import FixedTable
from cxsim.calibrate.voc_cells import SegmentCells
from cxsim.calibrate.voc_files import project_shares, samples_frame, write_voc, yaml_shares
from cxsim.calibrate.voc_notes import POOR_SD, RANGES, UNOWNED, range_notes, share_notes
from cxsim.errors import CalibrationError
from cxsim.outputs.fitted import FitResult, Report, Table, check_level

__all__ = ["POOR_SD", "UNOWNED", "VocResult", "yaml_shares"]

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
        (when ``share_of_wallet`` was given) and ``pain_share.<group>`` (the unowned group
        included); ``se`` is the bootstrap SD (or the delta-method SE when ``bootstrap=0``),
        the interval the percentile (or normal) interval at ``level``. A pooled fit's segment is
        its members' names joined by ``+``.
    params_, se_ : pandas.Series
        Estimates and standard errors indexed by ``(segment, parameter)``.
    pain_share_ : pandas.DataFrame
        Segment × group point estimates; rows sum to 1 (the unowned group included).
    models_ : pandas.DataFrame
        Coefficients of every per-segment main-effects model (``outcome`` churn, promoter,
        detractor, spend) with SE, z, p-value and ``ratio`` (odds ratio; spend multiplier).
    gof_ : pandas.DataFrame
        Goodness of fit of the main-effects logistic models against the rates of the cells with
        at least 30 respondents: ``segment, outcome, statistic, df, p_value, rich_cells``.
    diagnostics_ : pandas.DataFrame
        Per segment: rows used and dropped, churn events and rate, promoter and detractor
        shares, pattern and cell counts, rich patterns and their share of rows, respondents with
        no gap, AUC, McFadden pseudo-R² and deviances of the churn model, Newton iterations,
        failed and separated bootstrap replicates.
    bootstrap_ : pandas.DataFrame or None
        The replicates (B rows; columns ``(segment, parameter)``; NaN where one failed).
    groups, work_groups, unowned, members
        Gap groups; those written as work groups; the unowned group (or None); the segments
        each fit stands for (``{fit: [segment, ...]}``).
    gap_columns, columns, share_of_wallet, bootstrap, seed, level, firth, data_sha256
        The fit's settings and the hash of the data used.
    rows_dropped : int
        Rows of skipped segments.
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
        *,
        gof_: pd.DataFrame | None = None,
        unowned: str | None = None,
        members: dict[Any, list[Any]] | None = None,
        member_share_of_wallet: dict[Any, float] | None = None,
        rows_dropped: int = 0,
        firth: bool = False,
    ):
        # NOTE: the table is stored, not derived from params_ and se_ as the base class does:
        # its intervals come from the replicates (or the delta method) at fit time.
        self._estimates = estimates_
        self.pain_share_ = pain_share_
        self.models_ = models_
        self.gof_ = gof_ if gof_ is not None else pd.DataFrame()
        self.diagnostics_ = diagnostics_
        self.bootstrap_ = bootstrap_
        self.groups = groups
        self.unowned = unowned
        self.work_groups = [g for g in groups if g != unowned]
        self.members = members or {s: [s] for s in pain_share_.index}
        self.member_share_of_wallet = member_share_of_wallet or (
            dict(share_of_wallet) if share_of_wallet else None
        )
        self.gap_columns = gap_columns
        self.columns = columns
        self.share_of_wallet = share_of_wallet
        self.bootstrap = bootstrap
        self.seed = seed
        self.level = level
        self.firth = firth
        self.data_sha256 = data_sha256
        self.rows_dropped = rows_dropped
        self.notes = [] if notes is None else notes

    @classmethod
    def from_parts(
        cls,
        parts: list[dict[str, Any]],
        *,
        groups: list[str],
        fit_notes: list[str] | None = None,
        **kwargs,
    ) -> VocResult:
        """Gather the per-segment fits of :func:`fit_voc` into one result.

        ``parts`` holds, per segment, its cells, point values, delta-method SEs, bootstrap
        replicates (or None), model table, goodness of fit, diagnostics and notes; ``kwargs``
        are the settings the result keeps (``level`` among them).
        """
        rows, reps, pain, notes = [], {}, {}, list(fit_notes or [])
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
                    delta = float(se["pain_share"][a[0]]) if a.size and se else 0.0
                    draws = None
                    if boot is not None:  # a group nobody reports has a share of exactly 0
                        n = len(boot["churn_reduction"])
                        draws = boot["pain_share"][:, a[0]] if a.size else np.zeros(n)
                else:
                    est = float(values[key])
                    delta = float(se[key][0]) if se else np.nan
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
        gof = [row for p in parts for row in p["gof"]]
        result = cls(
            estimates_=estimates,
            pain_share_=pain_share,
            models_=pd.concat([p["models"] for p in parts], ignore_index=True),
            diagnostics_=pd.DataFrame([p["diagnostics"] for p in parts]),
            bootstrap_=boot_frame,
            groups=groups,
            notes=notes,
            gof_=pd.DataFrame(
                gof, columns=["segment", "outcome", "statistic", "df", "p_value", "rich_cells"]
            ),
            **kwargs,
        )
        result.notes += range_notes(result) + share_notes(result)
        return result

    # ------------------------------------------------------------------------- tables
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

    # ------------------------------------------------------------------------- what is written
    def response_range(self, segment: Any, key: str) -> tuple[float, float]:
        """The range a scenario allows ``key`` in ``segment``: [0, 1], wallet gain [0, 1 − w0]."""
        if key == "wallet_gain":
            return 0.0, 1.0 - (self.member_share_of_wallet or {}).get(segment, 0.0)
        return RANGES.get(key, (0.0, 1.0))

    def member_value(self, unit: Any, segment: Any, key: str) -> float | None:
        """The point estimate of response ``key`` for one segment of a (possibly pooled) fit."""
        est = self.params_
        if key == "wallet_gain" and len(self.members[unit]) > 1:
            if (unit, "wallet_lift") not in est.index or not self.member_share_of_wallet:
                return None
            return float(est[(unit, "wallet_lift")]) * self.member_share_of_wallet[segment]
        return float(est[(unit, key)]) if (unit, key) in est.index else None

    def member_se(self, unit: Any, segment: Any, key: str) -> float:
        if key == "wallet_gain" and len(self.members[unit]) > 1:
            w0 = (self.member_share_of_wallet or {}).get(segment, np.nan)
            return float(self.se_[(unit, "wallet_lift")]) * w0
        return float(self.se_[(unit, key)])

    def member_draws(self, unit: Any, segment: Any, key: str) -> np.ndarray | None:
        """Replicates of response ``key`` for one segment (None without replicates)."""
        if self.bootstrap_ is None or self.member_value(unit, segment, key) is None:
            return None
        if key == "wallet_gain" and len(self.members[unit]) > 1:
            w0 = (self.member_share_of_wallet or {})[segment]
            return self.bootstrap_[(unit, "wallet_lift")].to_numpy() * w0
        return self.bootstrap_[(unit, key)].to_numpy()

    def _share_columns(self) -> tuple[list[str], int | None]:
        unowned = self.groups.index(self.unowned) if self.unowned in self.groups else None
        return [f"pain_share.{g}" for g in self.groups], unowned

    def written_shares(self, unit: Any) -> dict[str, float]:
        """The point pain shares the calibration file writes for ``unit``'s work groups."""
        share = project_shares(self.pain_share_.loc[unit].to_numpy())
        if self.unowned is None:
            values = yaml_shares(share)
        else:  # round the owned shares down so they never sum above 1
            values = [float(np.floor(v * 1e6 + 1e-6) / 1e6) for v in share]
        return {g: v for g, v in zip(self.groups, values, strict=True) if g != self.unowned}

    def written_share_draws(self, unit: Any) -> np.ndarray:
        """Replicates of the written pain shares: (B, work groups), projected onto the simplex."""
        assert self.bootstrap_ is not None
        keys, _ = self._share_columns()
        draws = project_shares(self.bootstrap_[[(unit, k) for k in keys]].to_numpy())
        return draws[:, [j for j, g in enumerate(self.groups) if g != self.unowned]]

    def samples_table(self) -> pd.DataFrame | None:
        """The joint-draws table ``to_yaml`` writes beside the file (None without bootstrap)."""
        return samples_frame(self)

    # ------------------------------------------------------------------------- output
    def _interval_label(self) -> str:
        if self.bootstrap:
            return f"{self.level:.0%} bootstrap percentile intervals (B={self.bootstrap})"
        return f"{self.level:.0%} delta-method normal intervals (gap mix held fixed)"

    def summary(self) -> Report:
        """Estimates, pain shares, churn models, goodness of fit, diagnostics and notes."""
        d = self.diagnostics_.set_index("segment")
        # Diagnostics mix counts and rates: format each value by its own type, then transpose.
        diag = pd.DataFrame(
            {c: [f"{v:.4f}" if isinstance(v, float) else f"{v}" for v in d[c]] for c in d.columns},
            index=d.index,
        ).T
        caption = "Pain shares (share of the removable churn hazard per group; rows sum to 1, " + (
            f"'{self.unowned}' owned by no work group)" if self.unowned else "modelled gaps)"
        )
        tables = [
            FixedTable("Response parameters", self.estimates_, index=False),
            FixedTable(caption, self.pain_share_),
            FixedTable(
                "Churn models (main-effects logistic regression on the gap indicators)",
                self.churn_models_,
                index=False,
            ),
        ]
        if len(self.gof_):
            tables.append(
                Table(
                    "Goodness of fit of the main-effects models (likelihood ratio against the "
                    "rates of cells with >= 30 respondents)",
                    self.gof_,
                    index=False,
                )
            )
        tables.append(Table("Diagnostics", diag))
        return Report(
            "VoC calibration (fit_voc, docs/model.md §7)",
            [
                f"rows used {self.rows_used:,} (dropped {self.rows_dropped:,}) in "
                f"{len(self.pain_share_)} fit(s); {len(self.groups)} gap group(s); "
                f"{self._interval_label()}"
            ],
            tables,
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
            xlabel="pain share (share of the removable churn hazard)",
            title="VoC calibration: who owns the removable churn",
        )
        legend(ax)
        return ax

    def to_yaml(
        self, path: str | os.PathLike[str], data_file: str | os.PathLike[str] | None = None
    ) -> Path:
        """Write the calibration file and, with bootstrap replicates, its samples table.

        ``FILE.yaml`` sets ``segments.<s>.responses.{churn_reduction, promoter_gain,
        detractor_reduction, wallet_gain}`` and ``work_groups.<g>.pain_share.<s>`` (the unowned
        group left out) at their point estimates, and ``samples: [{file: FILE_samples.csv}]``:
        the table beside it holds one row per bootstrap replicate that fitted and one column
        per input path, so a simulation draws them jointly. Without bootstrap the responses are
        truncated normals (delta-method SEs) and there is no table. Values are kept within
        what a scenario allows (:mod:`cxsim.calibrate.voc_files`). Returns the YAML path;
        :func:`cxsim.calibrate.voc_files.samples_path` gives the table's.
        """
        return write_voc(self, path, data_file)


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
