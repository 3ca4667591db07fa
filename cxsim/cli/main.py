"""Command line: a thin shell over the public API.

Exit codes: 0 success, 1 invalid input (the problems on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cxsim.cli.arguments import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    non_negative_int,
    positive_int,
)
from cxsim.cli.calibrate import add_calibrate
from cxsim.cli.optimize import add_optimize
from cxsim.errors import CxsimError, Problem, ScenarioError


class _Parser(argparse.ArgumentParser):
    """argparse that exits with 2 on usage errors (its default) and prints a hint."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")


def _add_run(sub) -> None:
    p = sub.add_parser(
        "run",
        help="simulate a scenario and print its business case",
        description="Simulate a scenario file (programme against the no-programme baseline), "
        "print the business case and optionally write the tables as CSV.",
    )
    p.add_argument("file", type=Path, help="scenario YAML file")
    p.add_argument("--out", type=Path, help="folder for CSV tables and the resolved scenario")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    p.add_argument(
        "--seed",
        type=non_negative_int,
        default=None,
        help="random seed (default: a fresh one, printed)",
    )
    p.add_argument(
        "--draws",
        type=positive_int,
        default=None,
        help="Monte Carlo draws (default: 1, or 2000 when inputs are uncertain)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_set(p)
    p.add_argument(
        "--plots",
        type=Path,
        metavar="DIR",
        help="write charts as PNG into DIR (fan charts, NPV histogram, cash flow, "
        "timeline, leading indicators, tornado, waterfall by lever)",
    )
    p.add_argument(
        "--xlsx",
        type=Path,
        metavar="FILE",
        help="write the finance workbook (summary, assumptions, yearly tables)",
    )
    p.set_defaults(handler=_cmd_run)


def _add_set(p) -> None:
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override an input by dotted path, e.g. segments.core.arpu=50 or "
        "'responses.churn_reduction={dist: pert, min: 0.1, mode: 0.2, max: 0.3}' "
        "(repeatable; VALUE is YAML)",
    )


def _add_compare(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="compare plans side by side on common random numbers",
        description="Simulate two or more scenario files with the same seed and draws and "
        "print their outcomes side by side, the differences from the first, and the "
        "probability that each beats it.",
    )
    p.add_argument("files", type=Path, nargs="+", help="scenario files; the first is the reference")
    p.add_argument("--draws", type=positive_int, default=2000, help="draws (default 2000)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="shared seed (default 0)")
    p.set_defaults(handler=_cmd_compare)


def _add_sensitivity(sub) -> None:
    p = sub.add_parser(
        "sensitivity",
        help="tornado: which uncertain inputs move the NPV most",
        description="Move each uncertain input from its p10 to its p90 with the others at "
        "their medians, and rank the inputs by the swing in NPV.",
    )
    p.add_argument("file", type=Path)
    _add_set(p)
    p.add_argument("--low", type=float, default=0.10, help="low quantile (default 0.10)")
    p.add_argument("--high", type=float, default=0.90, help="high quantile (default 0.90)")
    p.add_argument("--plot", type=Path, metavar="PNG", help="write the tornado chart")
    p.set_defaults(handler=_cmd_sensitivity)


def _add_breakeven(sub) -> None:
    p = sub.add_parser(
        "breakeven",
        help="the value of one input at which expected NPV is zero",
        description="Search the value of --param at which the expected NPV (mean over draws, "
        "other inputs uncertain) is zero, or report that none exists in its range.",
    )
    p.add_argument("file", type=Path)
    p.add_argument("--param", required=True, help="dotted path, e.g. responses.churn_reduction")
    p.add_argument(
        "--range",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="search range (default: the input's allowed range or support)",
    )
    p.add_argument("--draws", type=positive_int, default=500, help="draws per trial (500)")
    p.add_argument("--seed", type=non_negative_int, default=0)
    _add_set(p)
    p.add_argument("--plot", type=Path, metavar="PNG", help="write the expected-NPV curve")
    p.set_defaults(handler=_cmd_breakeven)


def _add_validate(sub) -> None:
    p = sub.add_parser(
        "validate",
        help="check scenario files and report every problem",
        description="Validate scenario files; print OK per valid file and every problem of "
        "the others. Exit 1 if any file is invalid.",
    )
    p.add_argument("files", type=Path, nargs="+", help="scenario YAML files")
    p.set_defaults(handler=_cmd_validate)


def _parse_sets(items: list[str]) -> dict:
    import yaml

    overrides = {}
    for item in items:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise ScenarioError(
                Problem("--set", item, "expected PATH=VALUE", item, "e.g. segments.core.arpu=50")
            )
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ScenarioError(
                Problem(
                    "--set",
                    path.strip(),
                    f"value is not valid YAML: {exc}",
                    text,
                    "a number or a YAML flow mapping",
                )
            ) from None
        overrides[path.strip()] = value
    return overrides


def _load(path: Path, sets: list[str]):
    from cxsim.scenario import load_scenario

    scenario = load_scenario(path)
    if sets:
        scenario = scenario.with_overrides(_parse_sets(sets), source="--set")
    return scenario


def _default_draws(scenario) -> int:
    return 2000 if scenario.uncertain_inputs() else 1


def _cmd_run(args: argparse.Namespace) -> int:
    from cxsim.montecarlo import simulate
    from cxsim.outputs.report import business_case, check_output_dir, write_plots, write_results

    scenario = _load(args.file, args.set)
    if args.out is not None:
        check_output_dir(args.out, [args.file], args.force)
    if args.xlsx is not None and args.xlsx.suffix.lower() != ".xlsx":
        raise CxsimError(f"{args.xlsx}: --xlsx needs a file name ending in .xlsx")
    draws = args.draws or _default_draws(scenario)
    result = simulate(scenario, draws=draws, seed=args.seed, progress=False if args.quiet else None)
    print(business_case(result))
    for note in scenario.notes:
        print(f"note: {note}")
    sensitivity = None
    if scenario.uncertain_inputs() and (args.xlsx or args.plots):
        from cxsim.analysis.sensitivity import tornado

        sensitivity = tornado(scenario)
    if args.out is not None:
        written = write_results(result, args.out, force=args.force, inputs=[args.file])
        print(f"\nWrote {len(written)} files to {args.out}/: " + ", ".join(p.name for p in written))
    if args.plots is not None:
        from cxsim.analysis.attribution import waterfall_by_lever

        # Shapley over levers runs 2^5 simulations: cap their draws to keep --plots quick.
        waterfall = waterfall_by_lever(scenario, draws=min(draws, 300), seed=result.seed)
        written = write_plots(result, args.plots, sensitivity=sensitivity, waterfall=waterfall)
        print(f"Wrote {len(written)} charts to {args.plots}/")
    if args.xlsx is not None:
        result.to_excel(args.xlsx, sensitivity=sensitivity)
        print(f"Wrote workbook {args.xlsx}")
    return EXIT_OK


def _cmd_compare(args: argparse.Namespace) -> int:
    from cxsim.analysis.comparison import compare

    if len(args.files) < 2:
        raise CxsimError("compare needs at least two scenario files")
    scenarios = [_load(path, []) for path in args.files]
    names = _short_names([path.stem for path in args.files])
    if len(set(names)) < len(names):
        names = [str(path) for path in args.files]
    print(compare(scenarios, names=names, draws=args.draws, seed=args.seed).to_text())
    return EXIT_OK


def _short_names(stems: list[str]) -> list[str]:
    """File stems without the prefix they all share (sequence_a, sequence_b -> a, b)."""
    import os

    prefix = os.path.commonprefix(stems)
    prefix = prefix[: prefix.rfind("_") + 1] if "_" in prefix else ""
    short = [s[len(prefix) :] for s in stems]
    return short if all(short) else stems


def _add_assess(sub) -> None:
    p = sub.add_parser(
        "assess",
        help="print a scenario's maturity assessment and the levels it sets",
        description="Print the 15-dimension maturity assessment of a scenario, the starting "
        "capability levels and delivery capacity it implies, and optionally draw the radar.",
    )
    p.add_argument("file", type=Path)
    p.add_argument("--plot", type=Path, metavar="PNG", help="write the radar chart")
    p.set_defaults(handler=_cmd_assess)


def _cmd_assess(args: argparse.Namespace) -> int:
    from cxsim.model.operating_model import ASSESSMENT_MAP, assessment_levels, delivery_factor

    scenario = _load(args.file, [])
    scores = scenario.model.maturity_assessment
    if scores is None:
        raise CxsimError(
            f"{args.file}: no maturity_assessment in this scenario "
            "(see docs/operating-model.md for the 15 dimensions)"
        )
    print(f"Maturity assessment of {scenario.name} (1 = ad hoc ... 5 = leading)")
    for name, score in scores.items():
        print(f"  {name.replace('_', ' '):28}{score:>3}  {'#' * score}")
    levels = assessment_levels(scores)
    print("\nStarting capability levels (0..1) set by the assessment:")
    for name, dims in ASSESSMENT_MAP.items():
        if name == "delivery":
            continue
        explicit = scenario.model.capabilities.get(name)
        note = ""
        if explicit is not None and explicit.level is not None:
            note = f"  (the scenario sets level {explicit.level} instead)"
        print(f"  {name.replace('_', ' '):28}{levels[name]:>5.2f}  from {', '.join(dims)}{note}")
    factor = (
        delivery_factor(scores) if scenario.model.operating_model.execution_from_assessment else 1.0
    )
    print(
        f"\nDelivery capacity: every work group's execution × {factor:.2f} "
        f"(from {', '.join(ASSESSMENT_MAP['delivery'])})"
    )
    if args.plot:
        from cxsim.outputs.plotting import plot_assessment
        from cxsim.outputs.report import save_figure

        save_figure(plot_assessment(scores, title=f"CX maturity — {scenario.name}"), args.plot)
        print(f"Wrote {args.plot}")
    return EXIT_OK


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from cxsim.analysis.sensitivity import tornado
    from cxsim.outputs.summary import format_value

    if not 0 < args.low < args.high < 1:
        raise CxsimError(f"need 0 < --low < --high < 1 (got {args.low}, {args.high})")
    scenario = _load(args.file, args.set)
    table = tornado(scenario, low=args.low, high=args.high)
    base = table["base"].iloc[0]
    print(
        f"Tornado for {scenario.name}: NPV with every input at its median = "
        f"{format_value(base, 'money')}"
    )
    width = max(len(i) for i in table["input"]) + 2
    low_label, high_label = f"NPV at p{args.low * 100:.0f}", f"NPV at p{args.high * 100:.0f}"
    print(
        f"{'input'.ljust(width)}{'low':>12}{'high':>12}{low_label:>16}{high_label:>16}{'swing':>14}"
    )
    for _, row in table.iterrows():
        print(
            f"{row['input'].ljust(width)}{row['low']:>12.4g}{row['high']:>12.4g}"
            f"{format_value(row['npv_low'], 'money'):>16}"
            f"{format_value(row['npv_high'], 'money'):>16}"
            f"{format_value(row['swing'], 'money'):>14}"
        )
    if args.plot:
        from cxsim.outputs.plotting import plot_tornado
        from cxsim.outputs.report import save_figure

        save_figure(plot_tornado(table), args.plot)
        print(f"Wrote {args.plot}")
    return EXIT_OK


def _cmd_breakeven(args: argparse.Namespace) -> int:
    from cxsim.analysis.sensitivity import breakeven

    scenario = _load(args.file, args.set)
    result = breakeven(
        scenario,
        args.param,
        draws=args.draws,
        seed=args.seed,
        bounds=tuple(args.range) if args.range else None,
    )
    print(result.message)
    if args.plot:
        from cxsim.outputs.report import save_figure

        save_figure(result.plot(), args.plot)
        print(f"Wrote {args.plot}")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from cxsim.scenario import load_scenario

    status = EXIT_OK
    for path in args.files:
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            print(str(exc), file=sys.stderr)
            status = EXIT_INVALID
        else:
            print(
                f"{path}: OK ({len(scenario.segments)} segments, "
                f"{len(scenario.work_groups)} work groups, "
                f"{len(scenario.uncertain_inputs())} uncertain inputs)"
            )
    return status


COMMANDS: list[Callable] = [
    _add_run,
    _add_validate,
    _add_compare,
    _add_sensitivity,
    _add_breakeven,
    _add_assess,
    add_calibrate,
    add_optimize,
]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cxsim",
        description="Simulate the return on customer-experience work: leading indicators per "
        "work group → retention, loyalty, cost to serve, CLV → NPV, ROI and payback.",
    )
    from cxsim._version import __version__

    parser.add_argument("--version", action="version", version=f"cxsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in COMMANDS:
        add(sub)
    return parser


def run_alone(add: Callable, command: str, argv: Sequence[str] | None = None) -> int:
    """Run one subcommand with its own small parser (``argv`` without the command name)."""
    parser = _Parser(prog="cxsim")
    add(parser.add_subparsers(dest="command", required=True, parser_class=_Parser))
    args = parser.parse_args([command, *(sys.argv[1:] if argv is None else argv)])
    return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    """Run a parsed command: invalid input exits 1 with the problems on stderr."""
    try:
        return args.handler(args)
    except CxsimError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:  # output piped into e.g. head, which stopped reading
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cxsim`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return _dispatch(args)


def entry() -> None:
    sys.exit(main())
