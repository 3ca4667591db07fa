"""The VoC calibration file and the table of its bootstrap replicates (docs/model.md §7).

:func:`write_voc` writes what :meth:`VocResult.to_yaml` promises:

- ``FILE.yaml``, a scenario fragment: ``segments.<s>.responses.{churn_reduction,
  promoter_gain, detractor_reduction, wallet_gain}`` and ``work_groups.<g>.pain_share.<s>`` as
  plain point estimates, plus ``samples: [{file: FILE_samples.csv}]`` and the provenance;
- ``FILE_samples.csv`` beside it, the joint draws: one row per bootstrap replicate and one
  column per input it sets, named by the input's dotted path. A simulation draw picks one row,
  so every input of a draw comes from the same resample of the survey and their dependence
  (shares that trade off against each other, a churn reduction that moves with its pain
  shares) is kept. Replicates that failed to fit are dropped.

Without replicates (``bootstrap=0``) the responses are written as normal distributions with the
delta-method standard errors, truncated to their valid range, and no table.

Values are kept inside what a scenario allows: a response outside [0, 1] (wallet gain outside
[0, 1 − w0]) is clipped to that range; pain shares are projected onto the simplex — negative
shares set to 0 and the rest scaled to sum to 1 together with the unowned share — so a
segment's written shares never sum above 1. The fit's notes count and name what was moved.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cxsim.calibrate.files import provenance, write_calibration

if TYPE_CHECKING:
    from cxsim.calibrate.voc_result import VocResult

__all__ = ["RESPONSES", "project_shares", "samples_path", "write_voc", "yaml_shares"]

#: The scenario responses a VoC fit sets, in the order they are written.
RESPONSES = ("churn_reduction", "promoter_gain", "detractor_reduction", "wallet_gain")
_METHOD = (
    "fit_voc: per segment, 12-month churn (read as a monthly hazard), promoters >= 9, "
    "detractors <= 6 and log(spend_after/spend_before) at every gap pattern: the cell's own "
    "rate when >= 30 respondents have it, else a logistic (least-squares) smoother with main "
    "effects and supported pairwise interactions; counterfactual 'gaps closed' effects "
    "(docs/model.md §7)"
)
_DIGITS = 9  # decimals of the written pain shares (rounded down, so rows never sum above 1)


def samples_path(path: str | os.PathLike[str]) -> Path:
    """The replicates table written beside a calibration file: ``<stem>_samples.csv``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_samples.csv")


def project_shares(share: np.ndarray) -> np.ndarray:
    """Pain shares ``(..., G)`` (unowned included) onto the simplex: negatives to 0, then
    scaled to sum to 1; all 0 when no share is positive (no removable churn to share)."""
    share = np.clip(np.nan_to_num(np.asarray(share, float), nan=0.0), 0.0, None)
    total = share.sum(axis=-1, keepdims=True)
    return np.divide(share, total, out=np.zeros_like(share), where=total > 0)


def yaml_shares(share: np.ndarray, digits: int = 6) -> list[float]:
    """Point pain shares for the scenario: >= 0, rounded, summing to 1 (0 if no signal).

    Examples
    --------
    >>> yaml_shares(np.array([0.7, 0.5, -0.2]))
    [0.583333, 0.416667, 0.0]
    """
    share = project_shares(share)
    if share.sum() <= 0:
        return [0.0] * len(share)
    share = np.round(share, digits)
    top = int(np.argmax(share))
    share[top] = round(1 - (share.sum() - share[top]), digits)
    return [float(v) for v in share]


def _floor_rows(shares: np.ndarray, digits: int = _DIGITS) -> np.ndarray:
    """Round shares ``(B, G)`` down to ``digits`` decimals; a row that still sums to 1 gives
    one unit of the last decimal back from its largest share, so every row sums below 1."""
    scale = 10**digits
    units = np.floor(np.asarray(shares) * scale + 1e-6)  # NOTE: 1e-6 units absorbs fp noise
    full = units.sum(axis=1) >= scale
    top = np.argmax(units, axis=1)
    units[np.flatnonzero(full), top[full]] -= 1
    return units / scale


def write_voc(
    fit: VocResult, path: str | os.PathLike[str], data_file: str | os.PathLike[str] | None
) -> Path:
    """Write ``path`` (and its samples table when the fit has replicates); returns ``path``."""
    path = Path(path)
    est = fit.estimates_.set_index(["segment", "parameter"])
    table = fit.samples_table()
    segments: dict[str, Any] = {}
    degenerate = []
    for unit, members in fit.members.items():
        for s in members:
            responses = {}
            for key in RESPONSES:
                value = fit.member_value(unit, s, key)
                if value is None:
                    continue
                lo, hi = fit.response_range(s, key)
                if table is not None:
                    responses[key] = _sig(min(max(value, lo), hi))
                    continue
                sd = fit.member_se(unit, s, key)
                if not (np.isfinite(sd) and sd > 0):
                    degenerate.append(f"{s}.{key}")
                    responses[key] = _sig(min(max(value, lo), hi))
                    continue
                responses[key] = {"dist": "normal", "mean": _sig(value), "sd": _sig(sd)}
                responses[key].update({"min": lo, "max": hi})
            segments[str(s)] = {"responses": responses}
    work_groups: dict[str, Any] = {g: {"pain_share": {}} for g in fit.work_groups}
    for unit, members in fit.members.items():
        written = fit.written_shares(unit)
        for s in members:
            for g, v in written.items():
                work_groups[g]["pain_share"][str(s)] = v
    fragment: dict[str, Any] = {"segments": segments, "work_groups": work_groups}
    notes = list(fit.notes)
    if degenerate:
        notes.append(f"degenerate interval (sd 0), written as a point value: {degenerate}")
    extra: dict[str, Any] = {}
    if table is not None:
        target = samples_path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(target, index=False, float_format="%.10g")
        fragment["samples"] = [{"file": target.name}]
        extra["samples"] = {
            "file": target.name,
            "rows": len(table),
            "replicates_dropped": fit.bootstrap - len(table),
            "what": "one row per bootstrap replicate of the survey, one column per input",
        }
    record = provenance(
        method=_METHOD,
        rows_used=fit.rows_used,
        rows_dropped=fit.rows_dropped,
        data_file=data_file,
        data_sha256=None if data_file is not None else fit.data_sha256,
        **({"frame_sha256": fit.data_sha256} if data_file is not None else {}),
        intervals=fit._interval_label(),
        bootstrap=fit.bootstrap,
        seed=fit.seed,
        level=fit.level,
        firth=fit.firth,
        columns={k: v for k, v in fit.columns.items() if v is not None},
        gap_columns=fit.gap_columns,
        unowned=fit.unowned,
        segments={str(u): [str(s) for s in m] for u, m in fit.members.items()},
        rows_per_segment={str(r.segment): int(r.rows_used) for r in fit.diagnostics_.itertuples()},
        share_of_wallet=None
        if fit.share_of_wallet is None
        else {str(k): v for k, v in fit.share_of_wallet.items()},
        estimates=_estimates_record(est),
        **extra,
        notes=notes,
    )
    header = (
        "VoC calibration: response parameters and pain shares from respondent-level data\n"
        "(fit_voc; counterfactual 'gaps closed' effects of docs/model.md §7)."
    )
    if table is not None:
        header += (
            f"\nThe numbers below are point estimates; a simulation draws its values jointly "
            f"from\nthe {len(table)} bootstrap replicates in {samples_path(path).name}."
        )
    return write_calibration(path, fragment, "voc", record, header=header)


def _estimates_record(est: pd.DataFrame) -> dict[str, Any]:
    """Every estimate with its SE and interval, per segment (the provenance's audit trail)."""
    out: dict[str, Any] = {}
    for (segment, parameter), row in est.iterrows():
        out.setdefault(str(segment), {})[str(parameter)] = [
            _sig(row["estimate"]),
            _sig(row["se"]),
            _sig(row["lower"]),
            _sig(row["upper"]),
        ]
    return {"columns": ["estimate", "se", "lower", "upper"], **out}


def samples_frame(fit: VocResult) -> pd.DataFrame | None:
    """The joint-draws table: one row per replicate that fitted, one column per input path."""
    boot = fit.bootstrap_
    if boot is None:
        return None
    ok = boot.notna().all(axis=1).to_numpy()
    columns: dict[str, np.ndarray] = {}
    for unit, members in fit.members.items():
        for s in members:
            for key in RESPONSES:
                draws = fit.member_draws(unit, s, key)
                if draws is None:
                    continue
                lo, hi = fit.response_range(s, key)
                columns[f"segments.{s}.responses.{key}"] = np.clip(draws[ok], lo, hi)
        shares = fit.written_share_draws(unit)[ok]  # (B, G_owned)
        floored = _floor_rows(shares)
        for s in members:
            for j, g in enumerate(fit.work_groups):
                columns[f"work_groups.{g}.pain_share.{s}"] = floored[:, j]
    return pd.DataFrame(columns)


def _sig(x: float, digits: int = 6) -> float:
    return float(f"{float(x):.{digits}g}")
