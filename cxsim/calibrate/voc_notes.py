"""What a VoC fit tells its reader beside the numbers (docs/model.md §7).

:func:`range_notes` counts the estimates and replicates the calibration file moves into the
range a scenario allows. :func:`share_notes` says what the pain shares are relative to — the
gaps of every group, the unowned one included, or only the modelled gaps — and names every
*poorly identified* share: one whose bootstrap SD (the delta-method SE without bootstrap)
exceeds :data:`POOR_SD`, or whose estimate lies outside [0, 1]. Such a segment's survey cannot
tell who owns its removable churn, so the shares written for it are assumptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxsim.calibrate.voc_files import RESPONSES

if TYPE_CHECKING:
    from cxsim.calibrate.voc_result import VocResult

__all__ = ["POOR_SD", "RANGES", "UNOWNED", "range_notes", "share_notes"]

#: The gap group taken to be owned by no work group unless ``fit_voc(unowned=...)`` says
#: otherwise (a survey column ``gap_other``).
UNOWNED = "other"
#: A pain share whose bootstrap SD exceeds this is poorly identified (named in the notes):
#: its 95% interval then spans more than about 0.8 of the [0, 1] a share can take.
POOR_SD = 0.2
#: Valid ranges of the responses in a scenario; every response is a share in [0, 1], so a
#: promoter gain is clipped at 0 too (a negative estimate is noted). Wallet gain: [0, 1 − w0].
RANGES = {
    "churn_reduction": (0.0, 1.0),
    "promoter_gain": (0.0, 1.0),
    "detractor_reduction": (0.0, 1.0),
}


def range_notes(fit: VocResult) -> list[str]:
    """Estimates outside their range, failed replicates and replicates the table clips."""
    out = []
    for row in fit.estimates_.itertuples():
        key, est = row.parameter, row.estimate
        if key in RESPONSES:
            lo, hi = RANGES.get(str(key), (0.0, 1.0))
            if not lo <= est <= hi:
                out.append(
                    f"segment {row.segment!r}: {key} = {est:.4g} lies outside its valid "
                    f"range [{lo:g}, {hi:g}]; the calibration file clips it there"
                )
    if fit.bootstrap_ is None:
        return out
    table = fit.samples_table()
    assert table is not None
    dropped = fit.bootstrap - len(table)
    if dropped:
        out.append(
            f"{dropped} of {fit.bootstrap} bootstrap replicates failed in some segment and are "
            "left out of the samples table"
        )
    for unit, members in fit.members.items():
        for key in RESPONSES:
            draws = fit.member_draws(unit, members[0], key)
            if draws is None:
                continue
            lo, hi = fit.response_range(members[0], key)
            n = int(((draws < lo) | (draws > hi)).sum())
            if n:
                out.append(
                    f"segment {unit!r}: {n} of {len(draws)} replicates of {key} lie outside "
                    f"[{lo:g}, {hi:.4g}]; the samples table clips them there"
                )
    return out


def share_notes(fit: VocResult) -> list[str]:
    """What the pain shares are relative to, and every poorly identified one."""
    out = []
    if fit.unowned is None:
        out.append(
            "pain shares are relative to the modelled gaps: with no 'other' gap column (gaps "
            "owned by no work group) they sum to 1 in every segment by construction. Included "
            "in a scenario, the file gives all of a segment's gaps to these work groups, so any "
            "unowned pain the scenario had (shares summing below 1) is taken away, and the "
            "responses are the effects of closing the modelled gaps only. Add a "
            f"'{UNOWNED}' gap column (gap_{UNOWNED}) to keep the unowned share"
        )
    else:
        out.append(
            f"pain_share.{fit.unowned} is the share no work group owns (gap column "
            f"{fit.gap_columns[fit.unowned]!r}); it is not written as a work group, so each "
            "segment's written shares sum to 1 minus it"
        )
    est = fit.estimates_.set_index(["segment", "parameter"])
    for unit in fit.pain_share_.index:
        noisy, outside = [], []
        for g in fit.groups:
            row = est.loc[(unit, f"pain_share.{g}")]
            shown = f"{g} {row['estimate']:.3g} (SD {row['se']:.2g})"
            if row["se"] > POOR_SD:
                noisy.append(shown)
            elif not 0 <= row["estimate"] <= 1:
                outside.append(shown)
        if not noisy and not outside:
            continue
        found = [f"SD above {POOR_SD}: {', '.join(noisy)}"] if noisy else []
        found += [f"estimate outside [0, 1]: {', '.join(outside)}"] if outside else []
        c = est.loc[(unit, "churn_reduction")]
        why = (
            "The survey cannot tell who owns this segment's removable churn "
            f"(churn_reduction {c['estimate']:.3g}, SD {c['se']:.2g})"
            if noisy
            else "In these data closing such a gap alone does not measurably cut the churn hazard"
        )
        written = fit.written_shares(unit)
        out.append(
            f"segment {unit!r}: pain share(s) poorly identified ({'; '.join(found)}). {why}. "
            "The file writes the shares projected onto [0, 1] summing to at most 1 ("
            + ", ".join(f"{g} {v:.3g}" for g, v in written.items())
            + "), its samples table likewise per replicate: treat them as assumptions"
        )
    return out
