"""Rank correlations between uncertain inputs, imposed with a Gaussian copula."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence

import numpy as np

from cxsim.uncertainty.distributions import Distribution
from cxsim.uncertainty.spec import fmt_number, is_number
from cxsim.uncertainty.streams import U_MAX, U_MIN, check_range, normal_scores, uniforms

__all__ = ["check_correlation", "sample"]

_MIN_EIGENVALUE = 1e-10

# Correlation
# --------------------------------------------------------------------------------------


def _spearman_to_pearson(rho: np.ndarray) -> np.ndarray:
    """Pearson correlation of a Gaussian copula whose Spearman correlation is ``rho``."""
    return 2.0 * np.sin(np.pi * rho / 6.0)


def check_correlation(
    names: Sequence[str], pairs: Sequence[tuple[str, str, float]]
) -> tuple[np.ndarray | None, list[str]]:
    """Validate rank correlations and build the Gaussian-copula correlation matrix.

    Parameters
    ----------
    names : sequence of str
        The correlated inputs' names, in the order of the matrix rows.
    pairs : sequence of (str, str, float)
        ``(name_a, name_b, rho)`` with ``rho`` a Spearman rank correlation; pairs not
        listed are uncorrelated.

    Returns
    -------
    pearson : numpy.ndarray or None
        ``r = 2 sin(pi rho / 6)`` for every pair, 1 on the diagonal; None on problems.
    problems : list of str
        Every problem found: rho not a number or outside [-1, 1], unknown names, a pair
        of an input with itself, a pair given twice, or a set of correlations that no
        joint distribution can have (matrix not positive definite).

    Examples
    --------
    >>> pearson, problems = check_correlation(["a", "b"], [("a", "b", 0.5)])
    >>> problems, pearson.round(4).tolist()
    ([], [[1.0, 0.5176], [0.5176, 1.0]])
    >>> pairs = [("a", "b", 0.9), ("a", "c", 0.9), ("b", "c", -0.9)]
    >>> print(check_correlation(["a", "b", "c"], pairs)[1][0])
    correlations are inconsistent: the matrix is not positive definite (smallest eigenvalue -0.816)
    """
    problems: list[str] = []
    index: dict[str, int] = {}
    for name in names:
        if name in index:
            problems.append(f"input '{name}' is listed twice")
        index.setdefault(name, len(index))
    n = len(index)
    rho = np.eye(n)
    seen: dict[frozenset[str], int] = {}
    has_unit = False
    for number, pair in enumerate(pairs, start=1):
        try:
            name_a, name_b, value = pair
        except (TypeError, ValueError):
            problems.append(f"correlation #{number} must be (input, input, rho), got {pair!r}")
            continue
        label = f"correlation between '{name_a}' and '{name_b}'"
        ok = True
        for name in (name_a, name_b):
            if name not in index:
                close = difflib.get_close_matches(str(name), list(index), n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                problems.append(f"correlation names unknown input '{name}'{hint}")
                ok = False
        if name_a == name_b:
            problems.append(f"correlation pairs '{name_a}' with itself")
            ok = False
        if not is_number(value) or not math.isfinite(float(value)):
            problems.append(f"{label} must be a number, got {value!r}")
            ok = False
        elif not -1.0 <= float(value) <= 1.0:
            problems.append(f"{label} is {fmt_number(float(value))}; it must lie between -1 and 1")
            ok = False
        key = frozenset((str(name_a), str(name_b)))
        if key in seen and name_a != name_b:
            problems.append(f"{label} is given twice (entries #{seen[key]} and #{number})")
            ok = False
        seen.setdefault(key, number)
        if ok:
            i, j = index[name_a], index[name_b]
            rho[i, j] = rho[j, i] = float(value)
            has_unit = has_unit or abs(float(value)) == 1.0
    pearson = _spearman_to_pearson(rho)
    np.fill_diagonal(pearson, 1.0)
    if n:
        smallest = float(np.linalg.eigvalsh(pearson)[0])
        if smallest <= _MIN_EIGENVALUE:
            message = (
                "correlations are inconsistent: the matrix is not positive definite "
                f"(smallest eigenvalue {smallest:.3g})"
            )
            if has_unit:
                message += "; a correlation of exactly 1 or -1 makes two inputs copies, use 0.99"
            problems.append(message)
    if problems:
        return None, problems
    return pearson, []


# --------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------


def sample(
    dists: Sequence[Distribution],
    streams: Sequence[int],
    seed: int,
    start: int,
    stop: int,
    pearson: np.ndarray | None = None,
) -> np.ndarray:
    """Draws ``start`` to ``stop - 1`` of several inputs, optionally rank-correlated.

    Independent inputs are ``ppf(uniforms(seed, stream, start, stop))``.  Correlated
    inputs use a Gaussian copula: normal scores ``z``, ``z' = L z`` with ``L`` the
    Cholesky factor of ``pearson``, then ``ppf(ndtr(z'))``.  Every step works draw by
    draw (the product ``L z`` is summed in a fixed order, not by BLAS, whose blocking
    could change the last bit with the array length), so prefixes and chunks agree
    exactly here too.  An input with no correlation gets exactly the same draws as
    without ``pearson``.

    Parameters
    ----------
    dists : sequence of Distribution
        The marginal distributions.
    streams : sequence of int
        One stream id per distribution (see :func:`stream_id`).
    seed : int
        Run seed.
    start, stop : int
        Draw indices, ``0 <= start <= stop``.
    pearson : numpy.ndarray, optional
        Copula correlation matrix from :func:`check_correlation`, rows in the order
        of ``dists``.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(dists), stop - start)``.

    Raises
    ------
    ValueError
        If the lengths or matrix shape disagree or ``pearson`` is not a valid
        correlation matrix.

    Examples
    --------
    >>> from cxsim.uncertainty.distributions import parse_distribution
    >>> from cxsim.uncertainty.streams import stream_id
    >>> a, _ = parse_distribution({"dist": "uniform", "min": 0, "max": 1})
    >>> b, _ = parse_distribution({"dist": "pert", "min": 10, "mode": 20, "max": 40})
    >>> pearson, _ = check_correlation(["a", "b"], [("a", "b", 0.8)])
    >>> x = sample([a, b], [stream_id("a"), stream_id("b")], 1, 0, 20_000, pearson)
    >>> x.shape
    (2, 20000)
    >>> bool(abs(np.corrcoef(x.argsort().argsort())[0, 1] - 0.8) < 0.02)
    True
    """
    from scipy.special import ndtr  # imported on use: checking correlations needs no scipy

    start, stop = check_range(start, stop)
    m = len(dists)
    if len(streams) != m:
        raise ValueError(f"need one stream per distribution: {m} dists, {len(streams)} streams")
    correlated: list[int] = []
    if pearson is not None:
        pearson = np.asarray(pearson, dtype=np.float64)
        if pearson.shape != (m, m):
            raise ValueError(f"pearson must be {m}x{m}, got shape {pearson.shape}")
        if not np.array_equal(pearson, pearson.T) or not np.all(np.diag(pearson) == 1.0):
            raise ValueError("pearson must be symmetric with ones on the diagonal")
        off_diagonal = pearson - np.eye(m)
        correlated = np.flatnonzero(np.any(off_diagonal != 0.0, axis=1)).tolist()

    out = np.empty((m, stop - start))
    chosen = set(correlated)
    for j, dist in enumerate(dists):
        if j not in chosen:
            out[j] = dist.ppf(uniforms(seed, streams[j], start, stop))
    if not correlated:
        return out

    assert pearson is not None  # correlated inputs exist only with a matrix
    try:
        factor = np.linalg.cholesky(pearson[np.ix_(correlated, correlated)])
    except np.linalg.LinAlgError as err:
        raise ValueError("pearson is not positive definite") from err
    scores = normal_scores(seed, [streams[j] for j in correlated], start, stop)
    for row, j in enumerate(correlated):
        mixed = factor[row, row] * scores[row]
        for k in range(row):
            # Exact zeros (between separate correlated groups) would add nothing.
            if factor[row, k] != 0.0:
                mixed += factor[row, k] * scores[k]
        u = np.clip(ndtr(mixed), U_MIN, U_MAX)
        out[j] = dists[j].ppf(u)
    return out
