"""Time the calibration fits: fit_voc on a million respondents, fit_sbg on a published cohort.

Run by hand: ``python benchmarks/bench_calibrate.py [--n 1000000] [--bootstrap 200]``.
Prints the time to generate the synthetic survey, ``fit_voc`` point estimates (best of 3),
``fit_voc`` with the bootstrap, and — when :mod:`cxsim.calibrate.retention` is present —
``fit_sbg`` on Fader & Hardie's (2007) "High End" cohort (best of 50, in ms).
"""

from __future__ import annotations

import argparse
import time

from cxsim.calibrate.voc import fit_voc
from cxsim.datasets.voc_truth import SegmentTruth, simulate_voc

GROUPS = ["billing", "support", "product", "it", "logistics", "sales"]
#: Fader & Hardie (2007), "How to project customer retention", Table 1: High End customers.
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


def _truth() -> dict[str, SegmentTruth]:
    def seg(weight, churn, c, shares, prevalence):
        return SegmentTruth(
            weight=weight,
            churn_12m=churn,
            gap_prevalence=dict(zip(GROUPS, prevalence, strict=True)),
            churn_reduction=c,
            pain_share=dict(zip(GROUPS, shares, strict=True)),
            promoters=0.35,
            detractors=0.25,
            promoter_gain=0.12,
            detractor_reduction=0.35,
            spend=60.0,
            wallet_lift=0.06,
        )

    return {
        "core": seg(
            0.5, 0.18, 0.35, [0.3, 0.25, 0.2, 0.1, 0.1, 0.05], [0.3, 0.25, 0.2, 0.15, 0.1, 0.1]
        ),
        "value": seg(
            0.3, 0.25, 0.25, [0.1, 0.4, 0.2, 0.1, 0.1, 0.1], [0.2, 0.3, 0.2, 0.1, 0.1, 0.1]
        ),
        "premium": seg(
            0.2, 0.1, 0.45, [0.2, 0.2, 0.3, 0.2, 0.05, 0.05], [0.25, 0.2, 0.3, 0.2, 0.1, 0.05]
        ),
    }


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000, help="respondents")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap replicates")
    args = parser.parse_args(argv)

    truth = _truth()
    start = time.perf_counter()
    df = simulate_voc(truth, args.n, seed=1)
    generate = time.perf_counter() - start
    spend = {"spend_before": "spend_before", "spend_after": "spend_after"}
    print(f"VoC survey: {args.n:,} respondents, {len(truth)} segments, {len(GROUPS)} gap groups")
    print(f"  generate (simulate_voc)              {generate:8.3f} s")
    point = _best(lambda: fit_voc(df, bootstrap=0, share_of_wallet=0.4, **spend), 3)
    print(f"  fit_voc, point estimates (best of 3) {point:8.3f} s")
    start = time.perf_counter()
    fit_voc(df, bootstrap=args.bootstrap, share_of_wallet=0.4, **spend)
    boot = time.perf_counter() - start
    print(f"  fit_voc, bootstrap B={args.bootstrap:<4}            {boot:8.3f} s")
    print(f"    of which bootstrap                 {boot - point:8.3f} s")

    try:
        from cxsim.calibrate.retention import fit_sbg
    except ImportError as exc:  # retention fit not in this tree yet
        print(f"fit_sbg: skipped ({exc})")
        return
    ms = 1000 * _best(lambda: fit_sbg(HIGH_END), 50)
    print(f"fit_sbg, Fader-Hardie High End cohort (best of 50) {ms:8.2f} ms")


if __name__ == "__main__":
    main()
