"""``cxsim optimize FILE --budget AMOUNT``: the best plan to fund, from the command line.

A thin shell over :func:`cxsim.analysis.planning.optimize`.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from cxsim.cli.arguments import (
    EXIT_OK,
    add_executor,
    chart_outputs,
    executor_of,
    non_negative_int,
    positive_int,
)
from cxsim.errors import CxsimError

# The objectives of cxsim.analysis.planning.RISKS, spelled out so that ``cxsim --help`` need
# not import the planner (a test keeps the two equal).
RISKS = ("mean", "p10")


def add_optimize(sub) -> None:
    """Add ``optimize FILE --budget AMOUNT`` to a subparsers object (see cxsim.cli)."""
    p = sub.add_parser(
        "optimize",
        help="which work groups to fund, how far and when, within a budget",
        description="Search funding plans (each work group and planned capability: not "
        "funded, or funded at a share of its target with a later start) for the best "
        "expected NPV, or the best p10 NPV, within a budget on the expected programme "
        "spend. Prints the plan and why: what each funded item adds, what each item left "
        "out would add, what the next budget step buys, and the choice re-checked on fresh "
        "draws (seed + 1). Writes the plan as a scenario file and the NPV-spend frontier.",
    )
    p.add_argument("file", type=Path, help="scenario YAML file")
    p.add_argument(
        "--budget",
        type=_amount,
        required=True,
        metavar="AMOUNT",
        help="ceiling on the expected programme spend over the horizon, undiscounted "
        "(e.g. 20000000, 20e6 or 20M)",
    )
    p.add_argument("--risk", choices=RISKS, default="mean", help="objective (default mean)")
    p.add_argument("--draws", type=positive_int, default=1000, help="draws per plan (1000)")
    p.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seed shared by all plans (0); the re-check uses seed + 1",
    )
    p.add_argument("--out", type=Path, metavar="PLAN.yaml", help="write the plan as a scenario")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument("--frontier", type=Path, metavar="PNG", help="write the frontier chart")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_executor(p)
    p.set_defaults(handler=_cmd_optimize)


def _amount(text: str) -> float:
    """``20000000``, ``20_000_000``, ``20,000,000``, ``20e6``, ``20M``, ``1.5bn``, ``500k``."""
    cleaned = text.strip().replace("_", "").replace(",", "")
    factor = 1.0
    for suffix, scale in (("bn", 1e9), ("b", 1e9), ("m", 1e6), ("k", 1e3)):
        if cleaned.lower().endswith(suffix):
            cleaned, factor = cleaned[: -len(suffix)], scale
            break
    try:
        value = float(cleaned) * factor
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an amount such as 20e6, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive amount, got {text!r}")
    return value


def _cmd_optimize(args: argparse.Namespace) -> int:
    from cxsim.analysis.planning import optimize
    from cxsim.outputs.report import save_figure
    from cxsim.scenario import load_scenario

    out: Path | None = args.out
    if out is not None:
        if out.suffix.lower() not in (".yaml", ".yml"):
            raise CxsimError(f"{out}: --out must be a .yaml file (a scenario)")
        if out.exists() and out.resolve() == args.file.resolve():
            raise CxsimError(f"{out}: --out is the input scenario; choose another name")
        if out.is_dir():
            raise CxsimError(f"{out}: is a folder; --out must name a file")
        if out.exists() and not args.force:
            raise CxsimError(f"{out}: file exists; pass --force to replace it")
    if args.frontier is not None and args.frontier.suffix.lower() != ".png":
        raise CxsimError(f"{args.frontier}: --frontier needs a file name ending in .png")
    scenario = load_scenario(args.file)
    # Checked and claimed before the search: the plan never replaces one of the scenario's
    # files (its base, includes, tables), and two searches never write the same plan.
    outputs = chart_outputs(scenario, args.file, {"--frontier": args.frontier})
    outputs.force = args.force
    outputs.add_file(out, "--out", suffixes=(".yaml", ".yml"))
    with outputs:
        with executor_of(args) as executor:
            result = optimize(
                scenario,
                args.budget,
                risk=args.risk,
                draws=args.draws,
                seed=args.seed,
                progress=not args.quiet and bool(getattr(sys.stderr, "isatty", lambda: False)()),
                executor=executor,
            )
        print(result.summary())
        with outputs.writing() as place:
            if out is not None:
                result.to_yaml(place(out))
            if args.frontier is not None:
                save_figure(result.plot_frontier(), place(args.frontier))
    if out is not None:
        print(f"\nWrote {out}")
    if args.frontier is not None:
        print(f"Wrote {args.frontier}")
    return EXIT_OK


def main_optimize(argv: Sequence[str] | None = None) -> int:
    """Run ``optimize`` alone, as ``cxsim optimize ...`` would; returns the exit code.

    Examples
    --------
    >>> main_optimize(["scenarios/retail_bank.yaml", "--budget", "20M"])  # doctest: +SKIP
    0
    """
    from cxsim.cli.main import run_alone

    return run_alone(add_optimize, "optimize", argv)
