"""The result of :func:`cxsim.calibrate.voc.fit_voc`: estimates, intervals, calibration file.

``VocResult`` holds per-segment estimates of churn reduction, pain shares, promoter gain,
detractor reduction and wallet gain with their intervals, the fitted models' coefficients
and diagnostics; it renders as text and HTML, plots the pain shares and writes the scenario
fragment a scenario includes (MODEL.md §7).
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from cxsim.calibrate.files import provenance, write_calibration

if TYPE_CHECKING:
    from cxsim.calibrate.voc import _Segment

_METHOD = (
    "fit_voc: per-segment logistic regressions (churn, promoter >= 9, detractor <= 6) and "
    "least squares of log(spend_after/spend_before) on 0/1 gap indicators, fitted on "
    "gap-pattern cells; counterfactual 'gaps set to 0' effects (population attributable "
    "fraction, MODEL.md section 7)"
)
#: Valid ranges written as truncation bounds. The scenario schema takes every response as a
#: share in [0, 1], so a promoter gain is truncated at 0 too (a negative estimate is noted).
_RANGES = {
    "churn_reduction": (0.0, 1.0),
    "promoter_gain": (0.0, 1.0),
    "detractor_reduction": (0.0, 1.0),
}


_SCALARS = ("churn_reduction", "promoter_gain", "detractor_reduction", "wallet_lift", "wallet_gain")


@dataclass(repr=False)
class VocResult:
    """Result of :func:`fit_voc`.

    Attributes
    ----------
    estimates_ : pandas.DataFrame
        ``segment, parameter, estimate, se, lower, upper``: ``churn_reduction``,
        ``promoter_gain``, ``detractor_reduction``, ``wallet_lift`` (relative), ``wallet_gain``
        (when ``share_of_wallet`` was given) and ``pain_share.<group>``; ``se`` is the bootstrap
        SD (or the delta-method SE when ``bootstrap=0``), the interval the percentile
        (or normal) interval at ``level``.
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
    notes : list of str
        Everything the fit wants the reader to know.
    """

    estimates_: pd.DataFrame
    pain_share_: pd.DataFrame
    models_: pd.DataFrame
    diagnostics_: pd.DataFrame
    bootstrap_: pd.DataFrame | None
    groups: list[str]
    gap_columns: dict[str, str]
    columns: dict[str, str | None]
    share_of_wallet: dict[Any, float] | None
    bootstrap: int
    seed: int
    level: float
    data_sha256: str
    notes: list[str] = field(default_factory=list)

    @classmethod
    def _assemble(cls, parts, *, groups, **kwargs) -> VocResult:
        rows, reps, pain, notes = [], {}, {}, []
        level = kwargs["level"]
        q = (1 - level) / 2
        zq = stats.norm.ppf(1 - q)
        for part in parts:
            seg: _Segment = part["segment"]
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
                    if boot is not None:
                        draws = (
                            boot["pain_share"][:, a[0]]
                            if a.size
                            else np.zeros(len(boot[_SCALARS[0]]))
                        )
                else:
                    est, delta = float(values[key]), float(se[key][0])
                    draws = None if boot is None else boot[key]
                if draws is None:
                    sd, lo, hi = delta, est - zq * delta, est + zq * delta
                else:
                    reps[(seg.name, key)] = draws
                    sd = float(np.nanstd(draws, ddof=1))
                    lo, hi = np.nanpercentile(draws, [100 * q, 100 * (1 - q)])
                rows.append((seg.name, key, float(est), sd, float(lo), float(hi)))
            notes += part["notes"]
        estimates = pd.DataFrame(
            rows, columns=["segment", "parameter", "estimate", "se", "lower", "upper"]
        )
        pain_share = pd.DataFrame(pain, index=groups).T
        pain_share.index.name, pain_share.columns.name = "segment", "group"
        if kwargs["share_of_wallet"] is None and parts and "wallet_lift" in parts[0]["values"]:
            notes.append(
                "wallet_gain omitted: pass share_of_wallet (the baseline w0) to turn the relative "
                "wallet_lift into share-of-wallet points"
            )
        for r in rows:
            lo, hi = {**_RANGES, "wallet_gain": (0.0, 1.0)}.get(r[1], (-np.inf, np.inf))
            if not lo <= r[2] <= hi:
                notes.append(
                    f"segment {r[0]!r}: {r[1]} = {r[2]:.4g} lies outside its valid range "
                    f"[{lo:g}, {hi:g}]; the calibration file truncates its distribution there"
                )
            if r[1].startswith("pain_share.") and r[2] < 0:
                notes.append(
                    f"segment {r[0]!r}: {r[1]} = {r[2]:.4g} < 0 (removing the gap would raise "
                    "churn); the calibration file sets it to 0 and rescales the others"
                )
        boot_frame = None
        if reps:
            boot_frame = pd.DataFrame(reps)
            boot_frame.columns.names = ["segment", "parameter"]
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
    def churn_models_(self) -> pd.DataFrame:
        """The churn logistic regressions (coefficients, SE, z, p, odds ratios) per segment."""
        m = self.models_[self.models_["outcome"] == "churn"].drop(columns="outcome")
        return m.rename(columns={"ratio": "odds_ratio"}).reset_index(drop=True)

    @property
    def rows_used(self) -> int:
        return int(self.diagnostics_["rows_used"].sum())

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Intervals per ``(segment, parameter)``: bootstrap percentiles, or normal (delta)."""
        if level is None or level == self.level:
            out = self.estimates_.set_index(["segment", "parameter"])[["lower", "upper"]]
            return out.copy()
        q = (1 - level) / 2
        est = self.estimates_.set_index(["segment", "parameter"])
        if self.bootstrap_ is None:
            z = stats.norm.ppf(1 - q)
            return pd.DataFrame(
                {"lower": est["estimate"] - z * est["se"], "upper": est["estimate"] + z * est["se"]}
            )
        rows = []
        for key in est.index:
            if key in self.bootstrap_.columns:
                lo, hi = np.nanpercentile(self.bootstrap_[key], [100 * q, 100 * (1 - q)])
            else:  # pain share of a group nobody reports: exactly 0
                lo = hi = est.loc[key, "estimate"]
            rows.append((float(lo), float(hi)))
        return pd.DataFrame(rows, index=est.index, columns=["lower", "upper"])

    def _interval_label(self) -> str:
        if self.bootstrap:
            return f"{self.level:.0%} bootstrap percentile intervals (B={self.bootstrap})"
        return f"{self.level:.0%} delta-method normal intervals (gap mix held fixed)"

    def summary(self) -> str:
        """Readable text: estimates, pain shares, churn models, diagnostics and notes."""
        fmt = lambda v: f"{v:.4f}"  # noqa: E731
        est = self.estimates_.to_string(index=False, float_format=fmt)
        pain = self.pain_share_.to_string(float_format=fmt)
        churn = self.churn_models_.to_string(index=False, float_format=fmt)
        d = self.diagnostics_.set_index("segment")
        diag = pd.DataFrame(
            {c: [fmt(v) if isinstance(v, float) else f"{v}" for v in d[c]] for c in d.columns},
            index=d.index,
        ).T.to_string()
        lines = [
            "VoC calibration (fit_voc, MODEL.md section 7)",
            f"rows used {self.rows_used:,} (dropped 0) in {len(self.pain_share_)} segment(s); "
            f"{len(self.groups)} gap group(s); {self._interval_label()}",
            "",
            "Response parameters",
            est,
            "",
            "Pain shares (share of removable churn per group; rows sum to 1)",
            pain,
            "",
            "Churn models (logistic regression on the gap indicators)",
            churn,
            "",
            "Diagnostics",
            diag,
        ]
        if self.notes:
            lines += ["", "Notes"] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"VocResult(segments={list(self.pain_share_.index)}, groups={self.groups}, "
            f"rows_used={self.rows_used}, bootstrap={self.bootstrap})"
        )

    def _repr_html_(self) -> str:
        parts = [
            "<h4>VoC calibration (fit_voc)</h4>",
            f"<p>rows used {self.rows_used:,}; {html.escape(self._interval_label())}</p>",
            self.estimates_.to_html(index=False, float_format="{:.4f}".format),
            "<h5>Pain shares</h5>",
            self.pain_share_.to_html(float_format="{:.4f}".format),
            "<h5>Churn models</h5>",
            self.churn_models_.to_html(index=False, float_format="{:.4f}".format),
        ]
        if self.notes:
            parts.append(
                "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in self.notes) + "</ul>"
            )
        return "\n".join(parts)

    def plot(self, ax=None):
        """Pain-share bars per segment with their intervals; the legend gives each churn
        reduction with its interval. Returns the Axes."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(7, 1 + 0.5 * len(self.groups)))
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
        ax.legend(fontsize="small")
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
            share = _yaml_shares(row.to_numpy())
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
            "(fit_voc; counterfactual 'gaps set to 0' effects of MODEL.md section 7)."
        )
        fragment = {"segments": segments, "work_groups": work_groups}
        return write_calibration(path, fragment, "voc", record, header=header)


def _sig(x: float, digits: int = 6) -> float:
    return float(f"{float(x):.{digits}g}")


def _yaml_shares(share: np.ndarray) -> list[float]:
    """Point pain shares for the scenario: >= 0, rounded, summing to 1 (0 if no signal)."""
    share = np.clip(np.asarray(share, float), 0, None)
    if share.sum() <= 0:
        return [0.0] * len(share)
    share = np.round(share / share.sum(), 6)
    top = int(np.argmax(share))
    share[top] = round(1 - (share.sum() - share[top]), 6)
    return [float(v) for v in share]
