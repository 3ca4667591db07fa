"""Global sensitivity: which uncertain inputs drive the variance of an outcome (docs/what-if.md).

- :func:`sobol`: variance-based Sobol' indices from Saltelli's design and estimators (through
  SALib). ``S1`` is the share of the outcome's variance an input explains on its own; ``ST``
  adds every interaction it takes part in. Saltelli's design assumes independent inputs, so
  the scenario's ``correlations:`` are ignored.
- :func:`variance_shares`: the cheap companion from an ordinary Monte Carlo run: the variance
  share of each input by a standardized rank regression (SRRC), with the regression's R².

Unlike the tornado (one input at a time, the others at their medians), both move every input
over its whole distribution at once.
"""

from __future__ import annotations

import numbers
from collections.abc import Collection
from concurrent.futures import Executor
from typing import Any

import numpy as np
import pandas as pd

from cxsim.errors import CxsimError
from cxsim.montecarlo import outcomes_of_inputs, simulate, simulate_inputs
from cxsim.scenario import Scenario
from cxsim.uncertainty.distributions import Distribution
from cxsim.uncertainty.sampling import draw_inputs
from cxsim.uncertainty.streams import check_seed

__all__ = ["sobol", "variance_shares"]

# Saltelli rows are mapped through the inverse CDFs; u is kept off 0 and 1 so an unbounded
# distribution never maps to ±inf.
_U_EPS = np.finfo(float).eps


def sobol(
    scenario: Scenario,
    n: int = 1024,
    seed: int = 0,
    outcome: str = "npv",
    executor: Executor | None = None,
    inputs: Collection[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """First-order and total Sobol' indices of an outcome for every uncertain input.

    Saltelli's design (a scrambled Sobol' sequence on the unit hypercube, matrices ``A``,
    ``B`` and the ``D`` matrices ``A`` with column ``i`` from ``B``) is mapped through each
    input's own inverse CDF, and all ``n·(D + 2)`` rows run through the engine as extra draws
    of batched calls. The estimators are Saltelli et al. (2010) for both indices, with
    bootstrap confidence intervals (SALib).

    **Correlations are ignored.** Saltelli's design assumes independent inputs and cannot
    represent the scenario's ``correlations:``, nor the rows of a ``samples:`` table; every
    input is sampled independently from its own distribution (a table-fed input from its
    column), so the indices describe the inputs as if they were independent. The frame's
    ``attrs["notes"]`` says which correlations were left out. :func:`variance_shares`
    keeps them (at the price of ambiguous shares for correlated inputs).

    Parameters
    ----------
    scenario : Scenario
        A scenario with at least one uncertain input.
    n : int
        Base sample of Saltelli's design, a power of two; the engine runs ``n·(D + 2)`` rows
        for ``D`` analysed inputs (1024 on the flagship's 11 inputs: 13,312 rows).
    seed : int
        Scrambling of the Sobol' sequence; the bootstrap of the intervals uses ``seed + 1``.
    outcome : str
        A column of ``SimulationResult.outcomes``: ``npv``, ``roi``, ``pv_benefit``,
        ``pv_cost``, ... It must be defined in every row (``irr`` and ``payback_months`` are
        undefined where cash never turns or the case never pays back).
    executor : concurrent.futures.Executor, optional
        Runs one slice of rows per task (e.g. a ``ProcessPoolExecutor``); the numbers are
        bit-identical to the serial run.
    inputs : collection of str, optional
        Dotted paths of the uncertain inputs to analyse; the others sit at their medians.
        Default: every uncertain input.
    level : float
        Confidence level of the intervals (``S1_conf`` and ``ST_conf`` are half-widths).

    Returns
    -------
    pandas.DataFrame
        Columns ``input``, ``S1``, ``S1_conf``, ``ST``, ``ST_conf``; one row per analysed
        input, sorted by ``ST`` (largest first). ``attrs`` holds ``outcome``, ``n``,
        ``rows``, ``seed``, ``level`` and ``notes`` (a list of sentences: the method, how
        correlations were treated, which inputs were held at their medians).

    Raises
    ------
    CxsimError
        For a scenario without uncertain inputs, an unknown or certain input path, ``n`` not
        a positive power of two, an unknown outcome, a level outside (0, 1), or an outcome
        that is undefined in some rows or does not vary.

    References
    ----------
    .. [1] Saltelli, A. (2002). Making best use of model evaluations to compute sensitivity
       indices. Computer Physics Communications 145(2), 280–297.
    .. [2] Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M., Tarantola, S.
       (2010). Variance based sensitivity analysis of model output. Design and estimator for
       the total sensitivity index. Computer Physics Communications 181(2), 259–270.
    .. [3] Herman, J., Usher, W. (2017). SALib: an open-source Python library for
       sensitivity analysis. Journal of Open Source Software 2(9), 97.

    Examples
    --------
    >>> import cxsim
    >>> scenario = cxsim.load_scenario("scenarios/retail_bank.yaml")
    >>> two = ["responses.churn_reduction", "responses.wallet_gain"]
    >>> table = sobol(scenario, n=64, inputs=two)  # the other nine sit at their medians
    >>> table.columns.tolist()
    ['input', 'S1', 'S1_conf', 'ST', 'ST_conf']
    >>> table["input"].tolist(), table.attrs["rows"]  # 64 × (2 + 2) engine rows
    (['responses.wallet_gain', 'responses.churn_reduction'], 256)
    """
    from SALib.analyze.sobol import analyze
    from SALib.sample.sobol import sample

    chosen = _chosen_inputs(scenario, inputs)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1 or n & (n - 1):
        raise CxsimError(
            f"n must be a positive power of two, e.g. 256, 512 or 1024 (got {n!r}): Saltelli's "
            "design rests on a Sobol' sequence, whose balance needs 2^k points"
        )
    seed = check_seed(seed)
    if not 0 < level < 1:
        raise CxsimError(f"level must lie strictly between 0 and 1 (got {level!r})")
    _check_outcome(scenario, outcome)

    names = [item.path for item in chosen]
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    u = np.clip(sample(problem, int(n), calc_second_order=False, seed=seed), _U_EPS, 1 - _U_EPS)
    rows = u.shape[0]
    values = _medians(scenario, rows)
    for column, item in enumerate(chosen):
        values[item.path] = np.asarray(_distribution(item.value).ppf(u[:, column]), dtype=float)

    y = outcomes_of_inputs(scenario, values, outcome, executor)
    _check_defined(y, outcome, "Saltelli rows")
    indices = analyze(problem, y, calc_second_order=False, conf_level=level, seed=seed + 1)
    table = pd.DataFrame({"input": names})
    for key in ("S1", "S1_conf", "ST", "ST_conf"):
        table[key] = np.asarray(indices[key], dtype=float)
    table = table.sort_values("ST", ascending=False, ignore_index=True, kind="stable")
    held = [item.path for item in scenario.uncertain_inputs() if item.path not in names]
    notes = [
        f"Sobol' indices of {outcome} by Saltelli's design and estimators: n = {n} base rows × "
        f"(D + 2) = {rows:,} engine rows for D = {len(names)} inputs; {level:.0%} bootstrap "
        "confidence intervals.",
        _sobol_correlation_note(scenario, names),
    ]
    if held:
        notes.append(f"Held at their medians (not analysed): {', '.join(held)}.")
    table.attrs.update(
        {"outcome": outcome, "n": int(n), "rows": rows, "seed": seed, "level": level}
    )
    table.attrs["notes"] = notes
    return table


def variance_shares(
    scenario: Scenario,
    draws: int = 2000,
    seed: int = 0,
    outcome: str = "npv",
    result: Any = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Share of an outcome's variance per uncertain input, by standardized rank regression.

    The outcome's ranks are regressed on the inputs' ranks over the draws of an ordinary
    Monte Carlo run. The squared standardized rank regression coefficients (SRRC), normalised
    to sum to the regression's R², are the shares; R² (in ``attrs["r2"]``) says how much of
    the outcome's rank variance a monotone, additive model explains: near 1 the shares are
    a faithful split, well below 1 interactions or non-monotone effects hold the rest (ask
    :func:`sobol`). It costs one ordinary run instead of ``n·(D + 2)`` engine rows.

    The draws keep the scenario's ``correlations:``. **Correlated inputs make the shares
    ambiguous**: the variance they explain together cannot be split between them uniquely,
    and the regression's split of it is unstable; read their shares together.

    Parameters
    ----------
    scenario : Scenario
        A scenario with at least one uncertain input.
    draws, seed : int
        The Monte Carlo run (``cxsim.simulate(scenario, draws=draws, seed=seed)``).
    outcome : str
        A column of ``SimulationResult.outcomes``; draws where it is undefined are left out.
    result : SimulationResult, optional
        A run of this scenario (without ``fixed`` inputs) to reuse instead of simulating
        again; its draws and seed replace ``draws`` and ``seed``.
    executor : concurrent.futures.Executor, optional
        Where the run's chunks of draws go (the same numbers as without).

    Returns
    -------
    pandas.DataFrame
        Columns ``input``, ``share``, ``srrc``, sorted by ``share`` (largest first).
        ``attrs`` holds ``r2``, ``outcome``, ``draws`` (those used), ``seed`` and ``notes``.

    References
    ----------
    .. [1] Iman, R. L., Conover, W. J. (1979). The use of the rank transform in regression.
       Technometrics 21(4), 499–509.
    .. [2] Saltelli, A., Ratto, M., Andres, T., Campolongo, F., Cariboni, J., Gatelli, D.,
       Saisana, M., Tarantola, S. (2008). Global Sensitivity Analysis. The Primer. Wiley,
       chapter 1.2 (standardized regression coefficients).

    Examples
    --------
    >>> import cxsim
    >>> scenario = cxsim.load_scenario("scenarios/retail_bank.yaml")
    >>> table = variance_shares(scenario, draws=300, seed=1)
    >>> table.columns.tolist()
    ['input', 'share', 'srrc']
    >>> bool(abs(table["share"].sum() - table.attrs["r2"]) < 1e-9)
    True
    """
    uncertain = _chosen_inputs(scenario, None)
    if result is None:
        if isinstance(draws, bool) or not isinstance(draws, numbers.Integral):
            raise CxsimError(f"draws must be a whole number (got {draws!r})")
        if draws < len(uncertain) + 2:
            raise CxsimError(
                f"draws must be at least {len(uncertain) + 2} for {len(uncertain)} uncertain "
                f"inputs (got {draws}); a few thousand give stable shares"
            )
        seed = check_seed(seed)
        result = simulate(
            scenario, draws=int(draws), seed=seed, progress=False, keep="summary", executor=executor
        )
    else:
        mine = [(i.path, i.value) for i in uncertain]
        theirs = [(i.path, i.value) for i in result.scenario.uncertain_inputs()]
        if mine != theirs:
            raise CxsimError(
                "result was run on a scenario with other uncertain inputs; pass a run of this "
                "scenario, or leave result out"
            )
        draws, seed = result.draws, int(result.seed)
    outcomes = result.outcomes
    if outcome not in outcomes.columns:
        raise CxsimError(_unknown_outcome(outcome, outcomes.columns))
    y = outcomes[outcome].to_numpy(dtype=float)
    values = draw_inputs(scenario, seed, 0, draws)
    x = np.column_stack([values[item.path] for item in uncertain])
    kept = np.isfinite(y)
    notes = []
    if not kept.all():
        notes.append(
            f"{outcome} is undefined in {int((~kept).sum()):,} of {draws:,} draws; they are "
            "left out."
        )
        x, y = x[kept], y[kept]
    if y.size < len(uncertain) + 2:
        raise CxsimError(
            f"{outcome} is defined in only {y.size} draws; too few for {len(uncertain)} inputs"
        )
    _check_defined(y, outcome, "draws")
    srrc, r2 = _rank_regression(x, y)
    squares = srrc**2
    shares = squares / squares.sum() * r2 if squares.sum() > 0 else squares
    table = pd.DataFrame({"input": [i.path for i in uncertain], "share": shares, "srrc": srrc})
    table = table.sort_values("share", ascending=False, ignore_index=True, kind="stable")
    notes.insert(
        0,
        f"Variance shares of {outcome} by standardized rank regression over {y.size:,} draws "
        f"(seed {seed}); a linear model of the ranks explains R² = {r2:.1%} of their variance.",
    )
    notes.append(_shares_correlation_note(scenario))
    table.attrs.update({"r2": r2, "outcome": outcome, "draws": int(y.size), "seed": seed})
    table.attrs["notes"] = notes
    return table


def _medians(scenario: Scenario, rows: int) -> dict[str, np.ndarray]:
    """Every numeric input at its median (a number stays itself), ``rows`` times."""
    values = {}
    for item in scenario.inputs():
        point = item.value.median() if isinstance(item.value, Distribution) else item.value
        values[item.path] = np.full(rows, float(point))
    return values


# -- checks ------------------------------------------------------------------------------


def _chosen_inputs(scenario: Scenario, paths: Collection[str] | None) -> list:
    uncertain = scenario.uncertain_inputs()
    if not uncertain:
        raise CxsimError(
            "the scenario has no uncertain inputs, so there is no variance to apportion; give "
            "a distribution to the inputs you want to rank (e.g. {dist: pert, min: .., "
            "mode: .., max: ..})"
        )
    if paths is None:
        return uncertain
    if isinstance(paths, str):
        paths = [paths]
    by_path = {item.path: item for item in uncertain}
    known = {item.path for item in scenario.inputs()}
    for path in paths:
        if path in by_path:
            continue
        if path in known:
            raise CxsimError(
                f"input {path!r} is a fixed number in this scenario, not uncertain; give it a "
                "distribution to analyse it"
            )
        import difflib

        close = difflib.get_close_matches(path, list(by_path), n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise CxsimError(
            f"unknown input {path!r}{hint}; the uncertain inputs are: {', '.join(by_path)}"
        )
    if not paths:
        raise CxsimError("inputs is empty; name at least one uncertain input, or leave it out")
    wanted = set(paths)
    return [item for item in uncertain if item.path in wanted]


def _check_outcome(scenario: Scenario, outcome: str) -> None:
    """An unknown outcome fails before the expensive runs (one engine row at the medians)."""
    columns = simulate_inputs(scenario, _medians(scenario, 1)).outcomes.columns
    if outcome not in columns:
        raise CxsimError(_unknown_outcome(outcome, columns))


def _unknown_outcome(outcome: str, columns) -> str:
    return f"unknown outcome {outcome!r}; choose one of {', '.join(map(str, columns))}"


def _check_defined(y: np.ndarray, outcome: str, what: str) -> None:
    undefined = int(np.count_nonzero(~np.isfinite(y)))
    if undefined:
        raise CxsimError(
            f"{outcome} is undefined in {undefined:,} of {y.size:,} {what} (e.g. IRR without a "
            "sign change, payback beyond the horizon); variance indices need it in every row: "
            "choose an outcome that is always defined, such as npv"
        )
    if np.ptp(y) <= 1e-12 * max(1.0, float(np.abs(y).max())):
        raise CxsimError(
            f"{outcome} does not vary over the inputs' ranges (it is {float(y[0]):.6g} in every "
            "row): there is no variance to apportion"
        )


def _distribution(value: Any) -> Distribution:
    assert isinstance(value, Distribution)  # only uncertain inputs are analysed
    return value


# -- rank regression ---------------------------------------------------------------------


def _rank_regression(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Standardized rank regression coefficients of ``y`` on the columns of ``x``, and R²."""
    from scipy.stats import rankdata

    def standardize(ranks: np.ndarray) -> np.ndarray:
        centred = ranks - ranks.mean(axis=0)
        scale = centred.std(axis=0)
        return np.divide(centred, scale, out=np.zeros_like(centred), where=scale > 0)

    zx = standardize(rankdata(x, axis=0))
    zy = standardize(rankdata(y))
    coef, *_ = np.linalg.lstsq(zx, zy, rcond=None)
    residual = zy - zx @ coef
    r2 = float(1.0 - residual @ residual / (zy @ zy))
    return coef, min(max(r2, 0.0), 1.0)


# -- notes -------------------------------------------------------------------------------


def _correlations(scenario: Scenario, names: Collection[str] | None = None) -> list[str]:
    """The scenario's correlations as ``a ~ b (ρ = 0.6)``, those touching ``names`` only,
    and the inputs drawn together from one samples table (two or more of ``names``)."""
    found = [
        f"{c.between[0]} ~ {c.between[1]} (ρ = {c.rho:g})"
        for c in scenario.correlations
        if names is None or set(c.between) & set(names)
    ]
    tables: dict[str, list[str]] = {}
    for item in scenario.table_inputs():
        if names is None or item.path in names:
            tables.setdefault(getattr(item.value, "file", ""), []).append(item.path)
    found += [
        f"{', '.join(paths)} (rows of the samples table {file})"
        for file, paths in tables.items()
        if len(paths) > 1
    ]
    return found


def _sobol_correlation_note(scenario: Scenario, names: Collection[str]) -> str:
    pairs = _correlations(scenario, names)
    if not pairs:
        return (
            "Inputs sampled independently (Saltelli's design assumes it); the scenario "
            "declares no correlations between them."
        )
    return (
        f"Correlations ignored: {'; '.join(pairs)}. Saltelli's design assumes independent "
        "inputs, so every input was sampled independently from its own distribution and the "
        "indices describe the inputs as if they were uncorrelated."
    )


def _shares_correlation_note(scenario: Scenario) -> str:
    pairs = _correlations(scenario)
    if not pairs:
        return "The scenario declares no correlations, so the shares are unambiguous."
    return (
        f"Correlations kept in the draws: {'; '.join(pairs)}. Correlated inputs share the "
        "variance they explain together, and the regression cannot split it uniquely: read "
        "their shares together."
    )
