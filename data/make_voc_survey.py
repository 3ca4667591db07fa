"""Write ``voc_survey.csv``: 24,000 survey respondents whose truth is the flagship scenario.

Run ``python data/make_voc_survey.py`` from the repository (or call ``main(seed=...)``); the
same seed and the same ``scenarios/retail_bank.yaml`` always write the same file.

The respondents are :func:`cxsim.datasets.make_voc_survey` of the flagship: the truth of every
segment is :func:`cxsim.datasets.voc_truth_of` (segments in proportion to customers; baseline
12-month churn of today's base; a respondent experiences group g's gap with probability equal
to the pain share ``P[s, g]``; churn reduction, promoter gain, detractor reduction at the
medians of the flagship's responses; pain shares ``P[s, g] / Σ_h P[s, h]``; wallet lift =
wallet gain / share of wallet). ``data/README.md`` lists the columns and the truth.
"""

from __future__ import annotations

from pathlib import Path

SEED = 2024
RESPONDENTS = 24_000
HERE = Path(__file__).resolve().parent
FLAGSHIP = HERE.parent / "scenarios" / "retail_bank.yaml"
# The package carries the data it loads (cxsim.datasets reads it with importlib.resources).
SHIPPED = HERE.parent / "cxsim" / "datasets" / "data"


def main(seed: int = SEED, n: int = RESPONDENTS, out_dir: str | Path | None = None) -> Path:
    """Write ``voc_survey.csv`` (into the package's shipped data by default) and return its path."""
    from cxsim.datasets import make_voc_survey
    from cxsim.scenario import load_scenario

    out = Path(out_dir) if out_dir is not None else SHIPPED
    out.mkdir(parents=True, exist_ok=True)
    survey = make_voc_survey(load_scenario(FLAGSHIP), n=n, seed=seed)
    path = out / "voc_survey.csv"
    # Spend is already in cents; "%.2f" keeps the file small and exact.
    survey.to_csv(path, index=False, float_format="%.2f")
    return path


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(HERE.parent))  # run from a source checkout without installing
    main()
