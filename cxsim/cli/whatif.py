"""``cxsim compare``, ``sensitivity``, ``breakeven`` and ``assess``: questions about a scenario."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from cxsim.cli.arguments import (
    EXIT_OK,
    UsageError,
    add_executor,
    add_set,
    chart_outputs,
    executor_of,
    load_scenario_with_sets,
    non_negative_int,
    parse_sets,
    positive_int,
    write_chart,
)
from cxsim.errors import CxsimError, ScenarioError


def add_compare(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="compare plans side by side on common random numbers",
        description="Simulate two or more plans with the same seed and draws and print their "
        "outcomes side by side, the differences from the first, and the probability that each "
        "beats it. Plans are scenario files, and variants of the first file: "
        "--variant NAME PATH=VALUE [PATH=VALUE ...] is the first file with those values "
        "changed (VALUE is YAML, as for --set), shown as NAME.",
    )
    p.add_argument("files", type=Path, nargs="+", help="scenario files; the first is the reference")
    p.add_argument(
        "--variant",
        nargs="+",
        action=_Variant,
        default=[],
        metavar=("NAME PATH=VALUE", "PATH=VALUE"),
        help="a variant of the first file: its name, then one or more dotted paths with new "
        "values, e.g. --variant 'Faster lending' work_groups.lending.plan.ramp_months=6 "
        "(repeatable)",
    )
    p.add_argument("--draws", type=positive_int, default=2000, help="draws (default 2000)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="shared seed (default 0)")
    add_executor(p)
    p.set_defaults(handler=_cmd_compare)


class _Variant(argparse.Action):
    """``--variant NAME PATH=VALUE ...``: kept as (name, [PATH=VALUE, ...]); usage errors
    (no name, no value, a file given after the values) stop at the command line."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        name, *sets = values
        if "=" in name or not name.strip():
            parser.error(f"--variant: give the variant a name before its PATH=VALUE (got {name!r})")
        if not sets:
            parser.error(f"--variant {name!r}: expected at least one PATH=VALUE after the name")
        for item in sets:
            if "=" not in item:
                parser.error(
                    f"--variant {name!r}: expected PATH=VALUE, got {item!r} "
                    "(scenario files go before the first --variant)"
                )
        getattr(namespace, self.dest).append((name, sets))


def compare_plans(args: argparse.Namespace) -> tuple[list, list[str]]:
    """The plans ``cxsim compare`` runs, with their column names: each file under its
    scenario's name, then each variant (the first file with its overrides) under its own."""
    scenarios = [load_scenario_with_sets(path, []) for path in args.files]
    names = [scenario.name for scenario in scenarios]
    for name, sets in args.variant:
        source = f"--variant {name!r}"  # where a bad path or value is reported
        try:
            overrides = parse_sets(sets)
        except ScenarioError as exc:
            raise ScenarioError([replace(p, file=source) for p in exc.problems]) from None
        scenarios.append(scenarios[0].with_overrides(overrides, source=source))
        names.append(name)
    return scenarios, names


def _cmd_compare(args: argparse.Namespace) -> int:
    from cxsim.analysis.comparison import compare, unique_names

    if len(args.files) + len(args.variant) < 2:
        raise UsageError("compare needs at least two plans: two scenario files, or --variant")
    scenarios, names = compare_plans(args)
    with executor_of(args) as executor:
        comparison = compare(
            scenarios,
            names=unique_names(names),
            draws=args.draws,
            seed=args.seed,
            executor=executor,
        )
    print(comparison.to_text())
    return EXIT_OK


def add_sensitivity(sub) -> None:
    p = sub.add_parser(
        "sensitivity",
        help="which uncertain inputs move the NPV most: tornado, Sobol' indices or variance shares",
        description="Rank the uncertain inputs by what they do to the NPV. tornado (default): "
        "move each input from its p10 to its p90 with the others at their medians. sobol: "
        "first-order and total Sobol' indices from Saltelli's design (n·(D+2) engine runs; "
        "correlations are ignored, the design assumes independent inputs). variance: shares "
        "of the NPV's variance from a rank regression over an ordinary Monte Carlo run.",
    )
    p.add_argument("file", type=Path)
    add_set(p)
    p.add_argument(
        "--method",
        choices=("tornado", "sobol", "variance"),
        default="tornado",
        help="tornado (default), sobol or variance",
    )
    p.add_argument("--low", type=float, default=0.10, help="tornado: low quantile (default 0.10)")
    p.add_argument("--high", type=float, default=0.90, help="tornado: high quantile (default 0.90)")
    p.add_argument(
        "--swing",
        type=float,
        metavar="SHARE",
        help="tornado: move every numeric input, fixed ones too, by ± this share of its value "
        "(e.g. 0.1 for ±10%%) instead of from its p10 to its p90",
    )
    p.add_argument(
        "--inputs",
        nargs="+",
        metavar="PATH",
        help="tornado: only these inputs (dotted paths, e.g. segments.core.arpu)",
    )
    p.add_argument(
        "--n",
        type=positive_int,
        default=1024,
        help="sobol: base sample of Saltelli's design, a power of two (default 1024)",
    )
    p.add_argument(
        "--draws", type=positive_int, default=2000, help="variance: Monte Carlo draws (2000)"
    )
    p.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="variance: seed of the run; sobol: scrambling of the design (default 0)",
    )
    p.add_argument("--plot", type=Path, metavar="PNG", help="write the matching chart")
    add_executor(p)
    p.set_defaults(handler=_cmd_sensitivity)


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    scenario = load_scenario_with_sets(args.file, args.set)
    show = {"sobol": _print_sobol, "variance": _print_variance_shares}.get(
        args.method, _print_tornado
    )
    with chart_outputs(scenario, args.file, {"--plot": args.plot}) as args.outputs:
        with executor_of(args) as executor:
            return show(scenario, args, executor)


def _print_tornado(scenario, args: argparse.Namespace, executor=None) -> int:
    from cxsim.analysis.sensitivity import tornado
    from cxsim.outputs.summary import format_quantity, format_value

    table = tornado(
        scenario,
        low=args.low,
        high=args.high,
        executor=executor,
        swing=args.swing,
        inputs=args.inputs,
    )
    base = table["base"].iloc[0]
    moved = (
        f"each input ±{args.swing:.0%} of its value"
        if args.swing is not None
        else f"each uncertain input from its p{args.low * 100:g} to its p{args.high * 100:g}"
    )
    print(
        f"Tornado for {scenario.name}: {moved}, the others at their medians; NPV with every "
        f"input at its median = {format_value(base, 'money')}"
    )
    width = max(len("input"), *(len(label) for label in table["label"])) + 2
    low, high = table.attrs["low_label"], table.attrs["high_label"]
    print(
        f"{'input'.ljust(width)}{'low':>12}{'high':>12}{f'NPV at {low}':>15}"
        f"{f'NPV at {high}':>15}{'swing':>13}"
    )
    for _, row in table.iterrows():
        print(
            f"{row['label'].ljust(width)}{format_quantity(row['low'], row['unit']):>12}"
            f"{format_quantity(row['high'], row['unit']):>12}"
            f"{format_value(row['npv_low'], 'money'):>15}"
            f"{format_value(row['npv_high'], 'money'):>15}"
            f"{format_value(row['swing'], 'money'):>13}"
        )
    for note in table.attrs.get("notes", []):
        print(f"note: {note}")
    if args.plot:
        from cxsim.outputs.plotting import plot_tornado

        write_chart(lambda: plot_tornado(table), args.plot, args.outputs)
    return EXIT_OK


def _print_sobol(scenario, args: argparse.Namespace, executor=None) -> int:
    from cxsim.analysis.global_sensitivity import sobol

    table = sobol(scenario, n=args.n, seed=args.seed, executor=executor)
    level = table.attrs["level"]
    print(
        f"Sobol' indices of NPV for {scenario.name} (n = {args.n}: {table.attrs['rows']:,} "
        f"engine runs, seed {args.seed})"
    )
    width = max(len(i) for i in table["input"]) + 2
    label = f"{level:.0%} interval"
    print(f"{'input'.ljust(width)}{'S1':>8}  {label:<16}{'ST':>8}  {label}")
    for _, row in table.iterrows():
        s1, st = row["S1"], row["ST"]
        print(
            f"{row['input'].ljust(width)}{s1:>8.3f}  {_interval(s1, row['S1_conf']):<16}"
            f"{st:>8.3f}  {_interval(st, row['ST_conf'])}"
        )
    print(
        f"S1: share of the NPV's variance the input explains alone (sum {table['S1'].sum():.2f});"
        " ST: with its interactions."
    )
    pairs = [f"{c.between[0]} ~ {c.between[1]}" for c in scenario.correlations]
    if pairs:
        print(
            f"Note: correlations ignored ({'; '.join(pairs)}): Saltelli's design assumes "
            "independent inputs."
        )
    else:
        print("Note: inputs sampled independently, as Saltelli's design assumes (no correlations).")
    if args.plot:
        from cxsim.outputs.sensitivity_plots import plot_sobol

        write_chart(lambda: plot_sobol(table), args.plot, args.outputs)
    return EXIT_OK


def _interval(value: float, half: float) -> str:
    return f"[{value - half:.3f}, {value + half:.3f}]"


def _print_variance_shares(scenario, args: argparse.Namespace, executor=None) -> int:
    from cxsim.analysis.global_sensitivity import variance_shares

    table = variance_shares(scenario, draws=args.draws, seed=args.seed, executor=executor)
    print(
        f"Variance shares of NPV for {scenario.name} by rank regression "
        f"({table.attrs['draws']:,} draws, seed {args.seed}): R² = {table.attrs['r2']:.1%}"
    )
    width = max(len(i) for i in table["input"]) + 2
    print(f"{'input'.ljust(width)}{'share':>9}{'SRRC':>9}")
    for _, row in table.iterrows():
        print(f"{row['input'].ljust(width)}{row['share']:>9.1%}{row['srrc']:>+9.3f}")
    print(
        f"Shares sum to R² ({table.attrs['r2']:.1%}), the part of the NPV's rank variance a "
        "linear model of the inputs' ranks explains; SRRC's sign: does a higher input raise it."
    )
    pairs = [f"{c.between[0]} ~ {c.between[1]}" for c in scenario.correlations]
    if pairs:
        print(
            f"Note: correlations kept in the draws ({'; '.join(pairs)}); correlated inputs "
            "share variance, so read their shares together."
        )
    else:
        print("Note: the scenario declares no correlations, so the shares are unambiguous.")
    if args.plot:
        from cxsim.outputs.sensitivity_plots import plot_variance_shares

        write_chart(lambda: plot_variance_shares(table), args.plot, args.outputs)
    return EXIT_OK


def add_breakeven(sub) -> None:
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
    add_set(p)
    p.add_argument("--plot", type=Path, metavar="PNG", help="write the expected-NPV curve")
    add_executor(p)
    p.set_defaults(handler=_cmd_breakeven)


def _cmd_breakeven(args: argparse.Namespace) -> int:
    from cxsim.analysis.sensitivity import breakeven

    scenario = load_scenario_with_sets(args.file, args.set)
    with chart_outputs(scenario, args.file, {"--plot": args.plot}) as outputs:
        with executor_of(args) as executor:
            result = breakeven(
                scenario,
                args.param,
                draws=args.draws,
                seed=args.seed,
                bounds=tuple(args.range) if args.range else None,
                executor=executor,
            )
        print(result.message)
        if args.plot:
            write_chart(result.plot, args.plot, outputs)
    return EXIT_OK


def add_assess(sub) -> None:
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
    scenario = load_scenario_with_sets(args.file, [])
    with chart_outputs(scenario, args.file, {"--plot": args.plot}) as outputs:
        return _print_assessment(scenario, args, outputs)


def _print_assessment(scenario, args: argparse.Namespace, outputs) -> int:
    from cxsim.model.operating_model import ASSESSMENT_MAP, assessment_levels, delivery_factor

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

        title = f"CX maturity — {scenario.name}"
        write_chart(lambda: plot_assessment(scores, title=title), args.plot, outputs)
    return EXIT_OK
