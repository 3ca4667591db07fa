"""``cxsim calibrate retention|voc|lag DATA.csv --out FILE.yaml``: fit, write a calibration file.

A thin shell over :mod:`cxsim.calibrate`: read the CSV, run the fit, print its ``summary()``
and write its ``to_yaml(out, ..., data_file=DATA)``, a scenario fragment to ``include:``.
Bad data becomes a :class:`~cxsim.errors.CalibrationError` message (exit 1, no traceback).

``cxsim.cli`` registers the command with ``COMMANDS.append(add_calibrate)``;
:func:`main_calibrate` runs it on its own.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from cxsim.cli.arguments import EXIT_OK, non_negative_int, positive_int
from cxsim.errors import CalibrationError, CxsimError

__all__ = ["add_calibrate", "main_calibrate"]


def add_calibrate(sub) -> None:
    """Add ``calibrate`` with its ``retention``, ``voc`` and ``lag`` subcommands to ``sub``."""
    p = sub.add_parser(
        "calibrate",
        help="fit data and write a calibration file a scenario can include",
        description="Fit a calibration (docs/model.md §7) to a CSV file, print the fit and write a "
        "calibration file: a scenario fragment with the estimates as distributions and the "
        "provenance of the data. Include it from a scenario with `include: [FILE.yaml]`.",
    )
    kinds = p.add_subparsers(
        dest="kind", metavar="KIND", required=True, parser_class=type(p), title="kinds"
    )

    r = kinds.add_parser(
        "retention",
        help="cohort counts or a customer snapshot → segments.<segment>.sbg (Fader & Hardie 2007)",
        description="Fit the shifted-beta-geometric retention model and write "
        "segments.<SEGMENT>.sbg. Two layouts: cohorts (long format: one row per cohort and "
        "period, --cohort/--period-col/--count) or a snapshot (one row per customer: "
        "--tenure and --churned). The summary includes a chi-square goodness-of-fit test.",
    )
    _common(r, segment_help="segment whose sbg block the file sets (required)", required=True)
    r.add_argument(
        "--period",
        type=_sbg_period,
        default=None,
        metavar="month|quarter|year|N",
        help="length of one period, or N months (cohorts: year; a snapshot must say)",
    )
    cohorts = r.add_argument_group("cohorts (one row per cohort and period)")
    cohorts.add_argument("--cohort", default="cohort", help="cohort column; '' for a single cohort")
    cohorts.add_argument(
        "--period-col", default="year", help="periods since acquisition, 0, 1, ... (year)"
    )
    cohorts.add_argument("--count", default="active", help="customers still active (active)")
    snapshot = r.add_argument_group("snapshot (one row per customer)")
    snapshot.add_argument(
        "--tenure", metavar="COL", help="whole periods completed when the observed period began"
    )
    snapshot.add_argument(
        "--churned", metavar="COL", help="left during the observed period: 0/1, yes/no, true/false"
    )
    snapshot.add_argument("--weights", metavar="COL", help="customers each row stands for")
    snapshot.add_argument(
        "--tenure-counts-current",
        action="store_true",
        help="the tenure counts the observed period too (first period = 1): use tenure − 1",
    )
    r.set_defaults(handler=_cmd_retention)

    v = kinds.add_parser(
        "voc",
        help="survey respondents → per-segment responses and pain shares",
        description="Read churn, promoters, detractors and spend at every gap pattern per "
        "segment and write segments.<s>.responses and work_groups.<g>.pain_share (point "
        "estimates), with FILE_samples.csv beside FILE.yaml: one row per bootstrap replicate, "
        "one column per input, drawn jointly by a simulation (docs/model.md §7).",
    )
    _common(v, segment_help="fit only this segment's respondents")
    v.add_argument("--segment-col", default="segment", help="segment column (segment)")
    v.add_argument(
        "--gaps",
        type=_column_list,
        default=None,
        metavar="COL,COL",
        help="0/1 gap columns named gap_<group> (default: every column starting with gap_)",
    )
    v.add_argument(
        "--gap",
        type=_gap_mapping,
        action="append",
        default=[],
        metavar="GROUP=COLUMN",
        help="use COLUMN (any name) as work group GROUP's 0/1 gap column; repeatable",
    )
    v.add_argument(
        "--unowned",
        default="other",
        metavar="GROUP",
        help="the gap group no work group owns: its pain share is estimated but not written "
        "as a work group (other; '' for none)",
    )
    v.add_argument("--churned", default="churned_12m", help="0/1 churn column (churned_12m)")
    v.add_argument("--score", default="ltr", help="likelihood to recommend 0-10 (ltr)")
    v.add_argument("--no-score", action="store_true", help="no score column: skip NPS responses")
    v.add_argument("--spend-before", default="spend_before", help="spend column (spend_before)")
    v.add_argument("--spend-after", default="spend_after", help="spend column (spend_after)")
    v.add_argument("--no-spend", action="store_true", help="no spend columns: skip wallet gain")
    wallet = v.add_mutually_exclusive_group()
    wallet.add_argument(
        "--share-of-wallet",
        type=_share_of_wallet,
        metavar="SEG=W,... | W",
        help="baseline share of wallet per segment (or one for all) turning the relative "
        "spend lift into wallet_gain points",
    )
    wallet.add_argument(
        "--share-of-wallet-from",
        type=Path,
        metavar="SCENARIO",
        help="take the baselines from a scenario file's segments (medians)",
    )
    v.add_argument(
        "--skip-segment",
        action="append",
        default=[],
        metavar="NAME",
        help="leave this segment out (too small, separated); repeatable",
    )
    v.add_argument(
        "--min-rows",
        type=positive_int,
        default=None,
        metavar="N",
        help="skip segments with fewer than N respondents (pool them with --merge-small)",
    )
    v.add_argument(
        "--merge-small",
        action="store_true",
        help="pool the segments under --min-rows into one fit that each of them gets",
    )
    v.add_argument(
        "--firth",
        action="store_true",
        help="fit the logistic models by Firth's penalised likelihood (finite under separation)",
    )
    v.add_argument(
        "--bootstrap", type=non_negative_int, default=200, metavar="N", help="replicates (200)"
    )
    v.add_argument(
        "--seed", type=non_negative_int, default=0, metavar="N", help="bootstrap seed (0)"
    )
    v.set_defaults(handler=_cmd_voc)

    lag = kinds.add_parser(
        "lag",
        help="monthly leading vs lagging series → perception delay and lag",
        description="Fit the perception dead time, smoothing time and effect size and write "
        "responses.perception_delay_months and perception_lag_months "
        "(segments.<SEGMENT>.responses with --segment).",
    )
    _common(lag, segment_help="write under segments.<SEGMENT>.responses instead")
    lag.add_argument("--time", default="month", help="month label column (month)")
    lag.add_argument("--leading", default="leading", help="gap-closure column (leading)")
    lag.add_argument("--lagging", default="nps", help="lagging indicator column (nps)")
    lag.add_argument(
        "--max-delay", type=non_negative_int, default=12, help="longest dead time searched (12)"
    )
    lag.add_argument(
        "--bootstrap", type=non_negative_int, default=200, metavar="N", help="replicates (200)"
    )
    lag.add_argument(
        "--seed", type=non_negative_int, default=0, metavar="N", help="bootstrap seed (0)"
    )
    lag.set_defaults(handler=_cmd_lag)


def _common(p, *, segment_help: str, required: bool = False) -> None:
    p.add_argument("data", type=Path, metavar="DATA.csv", help="data file (CSV with a header)")
    p.add_argument(
        "--out", type=Path, required=True, metavar="FILE.yaml", help="calibration file to write"
    )
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument("--segment", required=required, metavar="NAME", help=segment_help)


# ----------------------------------------------------------------------------- arguments
def _column_list(text: str) -> list[str]:
    columns = [c.strip() for c in text.split(",") if c.strip()]
    if not columns:
        raise argparse.ArgumentTypeError("expected column names separated by commas")
    return columns


def _gap_mapping(text: str) -> tuple[str, str]:
    """``GROUP=COLUMN``: a work group and the survey column of its gap."""
    group, sep, column = text.partition("=")
    if not sep or not group.strip() or not column:
        raise argparse.ArgumentTypeError(f"expected GROUP=COLUMN, got {text!r}")
    return group.strip(), column


def _share_of_wallet(text: str) -> float | dict[str, float]:
    """``0.35`` (every segment) or ``mass_affluent=0.35,mass_market=0.5``."""
    try:
        if "=" not in text:
            return float(text)
        out = {}
        for item in text.split(","):
            name, _, value = item.partition("=")
            if not name.strip():
                raise ValueError(item)
            out[name.strip()] = float(value)
        return out
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected SEG=W,SEG=W,... or one number, got {text!r}"
        ) from None


# ----------------------------------------------------------------------------- commands
def _prepare(args: argparse.Namespace):
    """Check --out before fitting (refuse to overwrite; never the data file), read the CSV."""
    import pandas as pd

    data: Path = args.data
    if not data.is_file():
        raise CxsimError(f"{data}: data file not found")
    out: Path = args.out
    if out.suffix.lower() not in (".yaml", ".yml"):
        raise CxsimError(f"{out}: --out must be a .yaml file (a scenario fragment)")
    if out.exists() and out.resolve() == data.resolve():
        raise CxsimError(f"{out}: --out is the data file; choose another name")
    if out.is_dir():
        raise CxsimError(f"{out}: is a folder; --out must name a file")
    if out.exists() and not args.force:
        raise CxsimError(f"{out}: file exists; pass --force to replace it")
    try:
        frame = pd.read_csv(data)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CalibrationError(f"{data}: cannot read it as CSV ({first})") from None
    if frame.empty:
        raise CalibrationError(f"{data}: no data rows")
    return frame


def _need(frame, columns: Sequence[str | None], data: Path, hint: str) -> None:
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise CalibrationError(
            f"{data}: missing column(s) {missing}; it has {list(frame.columns)[:20]} "
            f"(name them with {hint})"
        )


def _finish(fit, path: Path) -> int:
    print(fit.summary())
    print(f"\nWrote {path}")
    return EXIT_OK


def _cmd_retention(args: argparse.Namespace) -> int:
    from cxsim.calibrate.data import read_table
    from cxsim.calibrate.retention import fit_sbg

    _prepare(args)  # refuses a bad --out before fitting
    # read again, remembering each row's file line: problems are reported as FILE:LINE
    frame = read_table(args.data)
    if args.tenure is not None or args.churned is not None:
        if args.tenure is None or args.churned is None:
            raise CxsimError("a snapshot needs both --tenure COL and --churned COL")
        if args.period is None:
            raise CxsimError(
                "a snapshot needs --period (month, quarter, year or N months): what its "
                "tenure counts"
            )
        fit = fit_sbg(
            frame,
            period=args.period,
            tenure=args.tenure,
            churned=args.churned,
            weights=args.weights,
            tenure_counts_current=args.tenure_counts_current,
        )
    else:
        if args.weights is not None or args.tenure_counts_current:
            raise CxsimError("--weights and --tenure-counts-current need --tenure and --churned")
        cohort = args.cohort or None
        _need(
            frame, [cohort, args.period_col, args.count], args.data, "--cohort/--period-col/--count"
        )
        fit = fit_sbg(
            frame,
            period=args.period or "year",
            cohort_col=cohort,
            period_col=args.period_col,
            count_col=args.count,
        )
    path = fit.to_yaml(args.out, segment=args.segment, data_file=args.data)
    return _finish(fit, path)


def _sbg_period(text: str) -> str | int:
    """``month``, ``quarter``, ``year`` or a whole number of months (``3``)."""
    if text in ("month", "quarter", "year"):
        return text
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise argparse.ArgumentTypeError(
        f"expected month, quarter, year or a whole number of months, got {text!r}"
    )


def _cmd_voc(args: argparse.Namespace) -> int:
    from cxsim.calibrate.data import read_table, source_of, subset
    from cxsim.calibrate.voc import fit_voc
    from cxsim.calibrate.voc_files import samples_path

    out: Path = args.out
    _check_voc_out(args.data, out, args.force, args.bootstrap > 0)
    frame = read_table(args.data)
    score = None if args.no_score else args.score
    before, after = (None, None) if args.no_spend else (args.spend_before, args.spend_after)
    if args.segment is not None:
        _need(frame, [args.segment_col], args.data, "--segment-col")
        chosen = (frame[args.segment_col].astype(str) == args.segment).to_numpy()
        if not chosen.any():
            known = sorted(frame[args.segment_col].astype(str).unique())
            raise CalibrationError(
                f"{source_of(frame)}: no respondent of segment {args.segment!r} in column "
                f"{args.segment_col!r} (segments: {', '.join(known[:20])})"
            )
        frame = subset(frame, chosen)
    share = args.share_of_wallet
    if args.share_of_wallet_from is not None:
        share = _wallet_from(args.share_of_wallet_from)
        if args.segment_col in frame.columns:
            present = set(frame[args.segment_col].astype(str))
            share = {k: v for k, v in share.items() if k in present}
    if share is not None and before is None:
        raise CxsimError("--share-of-wallet needs the spend columns (drop --no-spend)")
    if args.merge_small and args.min_rows is None:
        raise CxsimError("--merge-small pools the segments under --min-rows: give --min-rows N")
    fit = fit_voc(
        frame,
        segment=args.segment_col,
        gaps=_voc_gaps(frame, args.gaps, args.gap),
        churned=args.churned,
        score=score,
        spend_before=before,
        spend_after=after,
        share_of_wallet=share,
        unowned=args.unowned or None,
        skip=args.skip_segment,
        min_rows=args.min_rows,
        merge_small=args.merge_small,
        firth=args.firth,
        bootstrap=args.bootstrap,
        seed=args.seed,
    )
    path = fit.to_yaml(out, data_file=args.data)
    print(fit.summary())
    replicates = fit.samples_table()
    if replicates is not None:
        table, rows = samples_path(path), len(replicates)
        dropped = fit.bootstrap - rows
        print(
            f"\nWrote {path} (point estimates) and {table} ({rows} bootstrap replicates, one "
            f"row each{f'; {dropped} failed and were dropped' if dropped else ''}), which "
            f"{path.name} names under samples:"
        )
    else:
        print(f"\nWrote {path}")
    return EXIT_OK


def _check_voc_out(data: Path, out: Path, force: bool, samples: bool) -> None:
    """Refuse an --out that is not a .yaml file, is the data, or exists without --force (the
    samples table beside it included)."""
    if not data.is_file():
        raise CxsimError(f"{data}: data file not found")
    if out.suffix.lower() not in (".yaml", ".yml"):
        raise CxsimError(f"{out}: --out must be a .yaml file (a scenario fragment)")
    if out.is_dir():
        raise CxsimError(f"{out}: is a folder; --out must name a file")
    from cxsim.calibrate.voc_files import samples_path

    targets = [out] + ([samples_path(out)] if samples else [])
    for target in targets:
        if target.exists() and target.resolve() == data.resolve():
            raise CxsimError(f"{target}: --out would overwrite the data file; choose another name")
        if target.exists() and not force:
            raise CxsimError(f"{target}: file exists; pass --force to replace it")


def _voc_gaps(frame, listed: list[str] | None, mapped: list[tuple[str, str]]) -> dict[str, str]:
    """Work group → gap column: ``--gap GROUP=COLUMN`` mappings, plus every ``--gaps`` column
    (default: every ``gap_`` column) under its name without ``gap_``."""
    from cxsim.calibrate.voc_checks import GAP_PREFIX, gap_columns

    mapping: dict[str, str] = {}
    for group, column in mapped:
        if group in mapping:
            raise CxsimError(f"--gap {group}=...: work group {group!r} is mapped twice")
        mapping[group] = column
    if listed is None:
        listed = [c for c in frame.columns if isinstance(c, str) and c.startswith(GAP_PREFIX)]
    rest = [c for c in listed if c not in mapping.values()]
    if rest or not mapping:
        for group, column in gap_columns(frame, rest or None).items():
            if group in mapping:
                raise CxsimError(
                    f"work group {group!r} has two gap columns: {mapping[group]!r} (--gap) and "
                    f"{column!r}"
                )
            mapping[group] = column
    return mapping


def _wallet_from(path: Path) -> dict[str, float]:
    from cxsim.scenario import load_scenario
    from cxsim.uncertainty.distributions import Distribution

    scenario = load_scenario(path)
    return {
        name: float(s.share_of_wallet.median())
        if isinstance(s.share_of_wallet, Distribution)
        else float(s.share_of_wallet)
        for name, s in scenario.segments.items()
    }


def _cmd_lag(args: argparse.Namespace) -> int:
    from cxsim.calibrate.lag import fit_lag

    if args.bootstrap == 0:
        raise CxsimError("--bootstrap 0: the calibration file needs bootstrap intervals")
    from cxsim.calibrate.data import read_table

    _prepare(args)  # refuses a bad --out before fitting
    frame = read_table(args.data)  # remembers each row's line, for located errors
    _need(frame, [args.time, args.leading, args.lagging], args.data, "--time/--leading/--lagging")
    fit = fit_lag(
        frame[args.leading],
        frame[args.lagging],
        time=frame[args.time],
        max_delay=args.max_delay,
        n_boot=args.bootstrap,
        seed=args.seed,
    )
    path = fit.to_yaml(args.out, segment=args.segment, data_file=args.data)
    return _finish(fit, path)


def main_calibrate(argv: Sequence[str] | None = None) -> int:
    """Run ``calibrate`` alone, as ``cxsim calibrate ...`` would; returns the exit code.

    Examples
    --------
    >>> data = "cxsim/datasets/data/cohort_retention.csv"
    >>> main_calibrate(["retention", data, "--segment", "core",
    ...                 "--out", "calibration/retention.yaml"])  # doctest: +SKIP
    0
    """
    from cxsim.cli.main import run_alone

    return run_alone(add_calibrate, "calibrate", argv)
