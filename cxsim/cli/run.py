"""``cxsim run`` and ``cxsim validate``: simulate a scenario and print its business case."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cxsim.cli.arguments import (
    EXIT_INVALID,
    EXIT_OK,
    add_executor,
    add_set,
    executor_of,
    load_scenario_with_sets,
    memory_size,
    non_negative_int,
    positive_int,
    positive_number,
    say_note,
)
from cxsim.errors import ScenarioError


def add_run(sub) -> None:
    p = sub.add_parser(
        "run",
        help="simulate a scenario and print its business case",
        description="Simulate a scenario file (programme against the no-programme baseline), "
        "print the business case and optionally write the tables as CSV.",
    )
    p.add_argument("file", type=Path, help="scenario YAML file")
    p.add_argument("--out", type=Path, help="folder for CSV tables and the resolved scenario")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an --out or --plots folder that cxsim wrote (it lists its files in "
        ".cxsim-results and holds nothing else), or an --xlsx file; never one holding an "
        "input of the run",
    )
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
    p.add_argument(
        "--keep",
        choices=("auto", "all", "summary"),
        default="auto",
        help="what the result keeps: every draw's monthly arrays (all), or per-draw outcomes "
        "and streamed monthly bands (summary); auto (default) keeps all while the arrays "
        "fit in 256 MB",
    )
    p.add_argument(
        "--target-error",
        type=positive_number,
        metavar="X",
        help="add draws until the Monte Carlo errors of mean, p5 and p95 NPV are within X of "
        "the NPV's p5-p95 width (e.g. 0.01); --draws is then the first batch's size",
    )
    p.add_argument(
        "--max-memory",
        type=memory_size,
        metavar="SIZE",
        help="refuse the run, before it allocates anything, if its estimated peak memory "
        "exceeds SIZE (e.g. 2G, 500M, or bytes; G = 2^30); runs are refused anyway beyond "
        "the memory available",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_executor(p)
    add_set(p)
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


def _default_draws(scenario) -> int:
    return 2000 if scenario.uncertain_inputs() else 1


def _cmd_run(args: argparse.Namespace) -> int:
    from cxsim.outputs.folders import Outputs, run_inputs

    scenario = load_scenario_with_sets(args.file, args.set)
    # Every output path is checked and claimed before anything is computed, and written
    # only once everything is computed: a bad path fails at once, a failure or interrupt
    # (a lost cluster, Ctrl-C, SIGTERM) leaves nothing behind, and a racing run stops here.
    outputs = Outputs(run_inputs(scenario, args.file), force=args.force, on_note=say_note)
    outputs.add_folder(args.out, "--out")
    outputs.add_folder(args.plots, "--plots")
    outputs.add_file(args.xlsx, "--xlsx", suffixes=(".xlsx",))
    with outputs:
        _simulate_and_write(scenario, args, outputs)
    return EXIT_OK


def _simulate_and_write(scenario, args: argparse.Namespace, outputs) -> None:
    from cxsim.montecarlo import simulate
    from cxsim.outputs.provenance import command_line
    from cxsim.outputs.report import business_case, write_plots, write_tables

    draws = args.draws or _default_draws(scenario)
    with executor_of(args) as executor:
        result = simulate(
            scenario,
            draws=draws,
            seed=args.seed,
            progress=False if args.quiet else None,
            keep=args.keep,
            target_error=args.target_error,
            executor=executor,
            max_memory=args.max_memory,
        )
        sensitivity = waterfall = values = None
        if args.xlsx or args.plots:
            from cxsim.analysis.attribution import waterfall_by_lever
            from cxsim.analysis.sensitivity import tornado

            # Without uncertain inputs, the tornado swings every input ±10% instead.
            swing = None if scenario.uncertain_inputs() else 0.1
            sensitivity = tornado(scenario, executor=executor, swing=swing)
            # Shapley values need every coalition (2^5 of levers, 2^G of groups): their draws
            # are capped to keep this quick.
            draws = min(result.draws, 300)
            waterfall = waterfall_by_lever(
                scenario, draws=draws, seed=result.seed, executor=executor
            )
            if scenario.work_groups:
                from cxsim.analysis.group_values import group_values

                values = group_values(scenario, draws=draws, seed=result.seed, executor=executor)
    provenance = result.provenance(command_line())
    print(business_case(result, provenance))
    for note in [*result.notes, *scenario.notes]:
        print(f"note: {note}")
    skipped: list[str] = []
    charts: list[Path] = []
    with outputs.writing() as place:
        if args.out is not None:
            skipped = write_tables(result, place(args.out), provenance=provenance)
        if args.plots is not None:
            charts = write_plots(
                result,
                place(args.plots),
                sensitivity=sensitivity,
                waterfall=waterfall,
                group_values=values,
            )
        if args.xlsx is not None:
            result.to_excel(
                place(args.xlsx),
                sensitivity=sensitivity,
                waterfall=waterfall,
                group_values=values,
                provenance=provenance,
            )
    if args.out is not None:
        written = sorted(p.name for p in args.out.iterdir() if not p.name.startswith("."))
        print(f"\nWrote {len(written)} files to {args.out}/: " + ", ".join(written))
        for reason in skipped:
            print(f"  not written: {reason}")
    if args.plots is not None:
        print(f"Wrote {len(charts)} charts to {args.plots}/")
    if args.xlsx is not None:
        print(f"Wrote workbook {args.xlsx}")


def add_validate(sub) -> None:
    p = sub.add_parser(
        "validate",
        help="check scenario files and report every problem",
        description="Validate scenario files; print OK per valid file and every problem of "
        "the others. Exit 1 if any file is invalid. A warning (exit 0) says where an included "
        "file overrides one of the including file's own values.",
    )
    p.add_argument("files", type=Path, nargs="+", help="scenario YAML files")
    p.set_defaults(handler=_cmd_validate)


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
            # Valid, but probably not what was meant: an include overrode the file's own value.
            for note in scenario.notes:
                print(f"warning: {note}", file=sys.stderr)
    return status
