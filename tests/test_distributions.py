"""Distributions: parsing, inverse CDFs, counter-based draws, copulas."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtr, ndtri

import cxsim.uncertainty.streams as streams
from cxsim.uncertainty.copula import check_correlation, sample
from cxsim.uncertainty.distributions import (
    KINDS,
    Distribution,
    is_distribution_mapping,
    parse_distribution,
)
from cxsim.uncertainty.streams import normal_scores, stream_id, uniforms

N_MOMENTS = 200_000
N_RANK = 50_000
SEED = 20240611


def make(raw: dict) -> Distribution:
    dist, problems = parse_distribution(raw)
    assert problems == []
    assert dist is not None
    return dist


def phi(x: float) -> float:
    return 0.0 if math.isinf(x) else math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def truncated_normal_moments(mean, sd, lo=-math.inf, hi=math.inf):
    """Mean and variance of N(mean, sd) truncated to [lo, hi] (Johnson, Kotz & Balakrishnan)."""
    a, b = (lo - mean) / sd, (hi - mean) / sd
    z = stats.norm.cdf(b) - stats.norm.cdf(a) if b <= 0 else stats.norm.sf(a) - stats.norm.sf(b)
    a_phi = 0.0 if math.isinf(a) else a * phi(a)
    b_phi = 0.0 if math.isinf(b) else b * phi(b)
    ratio = (phi(a) - phi(b)) / z
    return mean + sd * ratio, sd**2 * (1 + (a_phi - b_phi) / z - ratio**2)


# Each case: raw spec, mean and variance from the literature, and a scipy.stats reference
# distribution (an independent implementation) for the inverse CDF.
def _beta_var(a, b, width=1.0):
    return width**2 * a * b / ((a + b) ** 2 * (a + b + 1))


_TN_2 = truncated_normal_moments(10, 2, 9, 15)
_TN_1 = truncated_normal_moments(0, 1, lo=1.5)
_TN_FAR = truncated_normal_moments(0, 1, lo=7.5)

MOMENT_CASES = {
    # PERT: mean (a + 4m + b)/6; variance (mean - a)(b - mean)/7 (exact for lambda 4).
    "pert": (
        {"dist": "pert", "min": 2, "mode": 3, "max": 10},
        4.0,
        (4.0 - 2) * (10 - 4.0) / 7,
        stats.beta(1 + 4 * 1 / 8, 1 + 4 * 7 / 8, loc=2, scale=8),
    ),
    "pert_mode_at_min": (
        {"dist": "pert", "min": 0, "mode": 0, "max": 6},
        1.0,
        1.0 * 5.0 / 7,
        stats.beta(1, 5, loc=0, scale=6),
    ),
    "triangular": (
        {"dist": "triangular", "min": 1, "mode": 2, "max": 7},
        (1 + 2 + 7) / 3,
        (1 + 4 + 49 - 2 - 7 - 14) / 18,
        stats.triang(1 / 6, loc=1, scale=6),
    ),
    "uniform": (
        {"dist": "uniform", "min": -1, "max": 3},
        1.0,
        16 / 12,
        stats.uniform(-1, 4),
    ),
    "normal": ({"dist": "normal", "mean": 10, "sd": 2}, 10.0, 4.0, stats.norm(10, 2)),
    "normal_two_sided": (
        {"dist": "normal", "mean": 10, "sd": 2, "min": 9, "max": 15},
        *_TN_2,
        stats.truncnorm(-0.5, 2.5, loc=10, scale=2),
    ),
    "normal_lower_only": (
        {"dist": "normal", "mean": 0, "sd": 1, "min": 1.5},
        *_TN_1,
        stats.truncnorm(1.5, np.inf),
    ),
    "normal_far_tail": (
        {"dist": "normal", "mean": 0, "sd": 1, "min": 7.5},
        *_TN_FAR,
        None,  # scipy's own truncnorm.ppf is not a reliable reference this far out
    ),
    "lognormal": (
        {"dist": "lognormal", "mean": 100, "sd": 30},
        100.0,
        900.0,
        stats.lognorm(math.sqrt(math.log(1 + 0.09)), scale=100 * math.exp(-math.log(1 + 0.09) / 2)),
    ),
    "beta_scaled": (
        {"dist": "beta", "alpha": 2, "beta": 5, "min": 10, "max": 20},
        10 + 10 * 2 / 7,
        _beta_var(2, 5, 10),
        stats.beta(2, 5, loc=10, scale=10),
    ),
    "beta_unit": (
        {"dist": "beta", "alpha": 0.5, "beta": 0.5},
        0.5,
        _beta_var(0.5, 0.5),
        stats.beta(0.5, 0.5),
    ),
}


# --------------------------------------------------------------------------------------
# Counter-based uniforms
# --------------------------------------------------------------------------------------


def test_stream_id_is_pinned_and_distinct():
    # Pinned: changing the hash would silently change every saved run's draws.
    assert stream_id("retention.churn_reduction") == 14244865304738753118
    assert stream_id("") == 13020603013274838756
    assert stream_id("a.b") != stream_id("a.c")
    with pytest.raises(TypeError):
        stream_id(3)  # type: ignore[arg-type]


def test_uniforms_are_pinned():
    u = uniforms(2024, stream_id("retention.churn_reduction"), 0, 3)
    assert [x.hex() for x in u.tolist()] == [
        "0x1.65741e48ac6acp-3",
        "0x1.7dd7f6b06fa29p-1",
        "0x1.96c67b04cdbb7p-1",
    ]


def test_uniforms_prefix_and_chunks_are_exact():
    s, k = 11, stream_id("x")
    full = uniforms(s, k, 0, 2000)
    np.testing.assert_array_equal(full[:1000], uniforms(s, k, 0, 1000))
    chunks = np.concatenate([uniforms(s, k, 0, 300), uniforms(s, k, 300, 1000)])
    np.testing.assert_array_equal(chunks, uniforms(s, k, 0, 1000))
    np.testing.assert_array_equal(uniforms(s, k, 1999, 2000), full[1999:])
    assert uniforms(s, k, 5, 5).shape == (0,)


def test_uniforms_strictly_inside_and_uniform():
    u = uniforms(SEED, stream_id("ks"), 0, 100_000)
    assert u.dtype == np.float64
    assert u.shape == (100_000,)
    assert u.min() > 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_uniforms_extremes_of_the_grid_stay_inside():
    assert 0.0 < streams.U_MIN < streams.U_MAX < 1.0
    # The largest 52-bit value must not round to 1.0.
    top = ((2**streams._UNIFORM_BITS - 1) + 0.5) * 2.0**-streams._UNIFORM_BITS
    assert top == streams.U_MAX < 1.0


def test_streams_and_seeds_give_different_uncorrelated_numbers():
    base = uniforms(1, stream_id("a"), 0, 100_000)
    other_stream = uniforms(1, stream_id("b"), 0, 100_000)
    next_stream = uniforms(1, stream_id("a") + 1, 0, 100_000)
    other_seed = uniforms(2, stream_id("a"), 0, 100_000)
    for other in (other_stream, next_stream, other_seed):
        assert not np.any(base == other)
        # 5 standard errors of a correlation estimated from 1e5 pairs is 0.016.
        assert abs(np.corrcoef(base, other)[0, 1]) < 0.02
    # Consecutive draws of one stream are uncorrelated too.
    assert abs(np.corrcoef(base[:-1], base[1:])[0, 1]) < 0.02


def test_uniforms_refuse_seeds_outside_64_bits_and_take_streams_modulo_2_64():
    for seed in (-1, 2**64, 2**64 + 3):  # wrapping would silently repeat another seed's draws
        with pytest.raises(ValueError, match=r"from 0 to 2\*\*64 − 1"):
            uniforms(seed, 5, 0, 10)
    assert uniforms(2**64 - 1, 5, 0, 10).shape == (10,)
    np.testing.assert_array_equal(uniforms(3, 2**64 + 5, 0, 10), uniforms(3, 5, 0, 10))


def test_uniforms_far_counters_and_bad_ranges():
    far = uniforms(0, 0, 2**40, 2**40 + 1000)
    assert far.min() > 0 and far.max() < 1
    np.testing.assert_array_equal(far[10:], uniforms(0, 0, 2**40 + 10, 2**40 + 1000))
    with pytest.raises(ValueError):
        uniforms(0, 0, 10, 5)
    with pytest.raises(ValueError):
        uniforms(0, 0, -1, 5)
    with pytest.raises(TypeError):
        uniforms(0, 0, 0.0, 5)  # type: ignore[arg-type]


def test_normal_scores_are_ndtri_of_uniforms():
    streams = [stream_id("a"), stream_id("b"), stream_id("c")]
    z = normal_scores(4, streams, 100, 600)
    assert z.shape == (3, 500)
    for row, k in enumerate(streams):
        np.testing.assert_array_equal(z[row], ndtri(uniforms(4, k, 100, 600)))
    assert normal_scores(4, [], 0, 10).shape == (0, 10)


# --------------------------------------------------------------------------------------
# Distributions: moments, inverse CDF, support
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(MOMENT_CASES))
def test_sample_moments_match_closed_forms(case):
    raw, mean, var, _ = MOMENT_CASES[case]
    dist = make(raw)
    assert dist.mean() == pytest.approx(mean, rel=1e-12, abs=1e-12)
    x = sample([dist], [stream_id(case)], SEED, 0, N_MOMENTS)[0]
    assert np.all(np.isfinite(x))
    # Five standard errors; the variance's SE is estimated from the draws' fourth moment.
    n = len(x)
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / n)
    sq = (x - x.mean()) ** 2
    assert abs(x.var(ddof=1) - var) < 5 * sq.std() / math.sqrt(n)


@pytest.mark.parametrize("case", sorted(c for c in MOMENT_CASES if MOMENT_CASES[c][3]))
def test_ppf_matches_scipy_reference(case):
    raw, _, _, reference = MOMENT_CASES[case]
    dist = make(raw)
    u = np.linspace(0.0005, 0.9995, 2001)
    np.testing.assert_allclose(dist.ppf(u), reference.ppf(u), rtol=1e-9, atol=1e-12)
    assert dist.median() == pytest.approx(reference.median(), rel=1e-9, abs=1e-12)
    assert dist.quantile(0.9) == pytest.approx(reference.ppf(0.9), rel=1e-9)


def test_truncated_normal_mean_matches_scipy():
    for lo, hi in [(9, 15), (-math.inf, 8), (12, math.inf), (3, 4)]:
        raw = {"dist": "normal", "mean": 10, "sd": 2}
        if math.isfinite(lo):
            raw["min"] = lo
        if math.isfinite(hi):
            raw["max"] = hi
        ref = stats.truncnorm((lo - 10) / 2, (hi - 10) / 2, loc=10, scale=2)
        assert make(raw).mean() == pytest.approx(ref.mean(), rel=1e-10)


def test_lognormal_median_and_log_moments():
    dist = make({"dist": "lognormal", "mean": 100, "sd": 30})
    sigma2 = math.log(1 + 0.09)
    assert dist.median() == pytest.approx(100 * math.exp(-sigma2 / 2), rel=1e-12)
    x = sample([dist], [stream_id("log")], SEED, 0, N_MOMENTS)[0]
    logs = np.log(x)
    assert abs(logs.mean() - (math.log(100) - sigma2 / 2)) < 5 * math.sqrt(sigma2 / len(x))


SUPPORT_CASES = [
    ({"dist": "pert", "min": 0.2, "mode": 0.3, "max": 0.45}, (0.2, 0.45)),
    ({"dist": "pert", "min": 1, "mode": 5, "max": 5}, (1.0, 5.0)),
    ({"dist": "triangular", "min": -3, "mode": -3, "max": 2}, (-3.0, 2.0)),
    ({"dist": "uniform", "min": 0.1, "max": 0.7}, (0.1, 0.7)),
    ({"dist": "normal", "mean": 0, "sd": 1}, (-math.inf, math.inf)),
    ({"dist": "normal", "mean": 5, "sd": 2, "min": 0}, (0.0, math.inf)),
    ({"dist": "normal", "mean": 5, "sd": 2, "max": 6}, (-math.inf, 6.0)),
    ({"dist": "normal", "mean": 0, "sd": 1, "min": 7.9, "max": 8.1}, (7.9, 8.1)),
    ({"dist": "normal", "mean": 0, "sd": 1, "max": -7.9}, (-math.inf, -7.9)),
    ({"dist": "normal", "mean": 0.05, "sd": 0.01, "min": 0, "max": 1}, (0.0, 1.0)),
    ({"dist": "lognormal", "mean": 2, "sd": 5}, (0.0, math.inf)),
    ({"dist": "beta", "alpha": 2, "beta": 3}, (0.0, 1.0)),
    ({"dist": "beta", "alpha": 0.3, "beta": 4, "min": -1, "max": 1}, (-1.0, 1.0)),
]


@pytest.mark.parametrize(("raw", "support"), SUPPORT_CASES)
def test_ppf_respects_support_and_is_monotone(raw, support):
    dist = make(raw)
    assert dist.support() == support
    lo, hi = support
    tiny = streams.U_MIN
    u = np.concatenate(
        [[tiny, 1e-12, 1e-6], np.linspace(0.001, 0.999, 4999), [1 - 1e-6, 1 - 1e-12, 1 - tiny]]
    )
    x = dist.ppf(u)
    assert np.all(np.isfinite(x))
    assert np.all((x >= lo) & (x <= hi))
    assert np.all(np.diff(x) >= 0)
    assert x[-1] > x[0]
    # The closed ends of [0, 1] give the ends of the support, possibly infinite.
    assert dist.quantile(0.0) == lo
    assert dist.quantile(1.0) == hi
    assert np.all(np.isnan(dist.ppf([-0.1, 1.1, np.nan])))
    assert dist.ppf(np.full((2, 3), 0.5)).shape == (2, 3)


def test_far_tail_truncated_normal_draws_are_finite_and_inside():
    for raw in (
        {"dist": "normal", "mean": 0, "sd": 1, "min": 7.9},
        {"dist": "normal", "mean": 100, "sd": 1, "max": 92.1},
        {"dist": "normal", "mean": 0, "sd": 1, "min": 7.9, "max": 7.9001},
    ):
        dist = make(raw)
        x = sample([dist], [1], SEED, 0, 50_000)[0]
        lo, hi = dist.support()
        assert np.all(np.isfinite(x)) and x.min() >= lo and x.max() <= hi
        assert x.mean() == pytest.approx(dist.mean(), abs=0.01)


def test_triangular_median_uses_the_right_branch():
    # Median of a right-skewed triangle lies left of the midpoint: b - sqrt((b-a)(b-c)/2).
    dist = make({"dist": "triangular", "min": 0, "mode": 1, "max": 10})
    assert dist.median() == pytest.approx(10 - math.sqrt(10 * 9 / 2), rel=1e-12)


# --------------------------------------------------------------------------------------
# The Distribution value object
# --------------------------------------------------------------------------------------


def test_distribution_is_hashable_sorted_and_accessible():
    a = make({"dist": "pert", "max": 0.45, "min": 0.2, "mode": 0.3})
    b = Distribution("pert", (("mode", 0.3), ("min", 0.2), ("max", 0.45)))
    assert a == b and hash(a) == hash(b)
    assert a.params == (("max", 0.45), ("min", 0.2), ("mode", 0.3))
    assert a.p == {"max": 0.45, "min": 0.2, "mode": 0.3}
    assert a.get("mode") == 0.3 and a.get("sd") is None and a.get("sd", 1.0) == 1.0
    assert len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.dist = "uniform"  # type: ignore[misc]


def test_direct_construction_validates():
    with pytest.raises(ValueError, match="mode: must lie between min and max"):
        Distribution("pert", {"min": 0, "mode": 2, "max": 1})
    with pytest.raises(ValueError, match="unknown distribution"):
        Distribution("gamma", {})


@pytest.mark.parametrize(("raw", "_support"), SUPPORT_CASES)
def test_to_dict_round_trips(raw, _support):
    dist = make(raw)
    again = dist.to_dict()
    assert again["dist"] == raw["dist"]
    assert {k: v for k, v in again.items() if k != "dist"} == {
        k: float(v) for k, v in raw.items() if k != "dist"
    }
    assert make(again) == dist
    assert list(again)[0] == "dist"


def test_describe():
    cases = {
        "PERT(0.2, 0.3, 0.45)": {"dist": "pert", "min": 0.2, "mode": 0.3, "max": 0.45},
        "Triangular(0, 1, 3)": {"dist": "triangular", "min": 0, "mode": 1, "max": 3},
        "Uniform(0.1, 0.5)": {"dist": "uniform", "min": 0.1, "max": 0.5},
        "Normal(10, 2)": {"dist": "normal", "mean": 10, "sd": 2},
        "Normal(10, 2) on [0, 20]": {"dist": "normal", "mean": 10, "sd": 2, "min": 0, "max": 20},
        "Normal(10, 2) on (-inf, 20]": {"dist": "normal", "mean": 10, "sd": 2, "max": 20},
        "Lognormal(mean 1200, sd 300)": {"dist": "lognormal", "mean": 1200, "sd": 300},
        "Beta(2, 5)": {"dist": "beta", "alpha": 2, "beta": 5},
        "Beta(2, 5) on [0.1, 0.4]": {"dist": "beta", "alpha": 2, "beta": 5, "min": 0.1, "max": 0.4},
    }
    for text, raw in cases.items():
        assert make(raw).describe() == text
    assert set(KINDS) == {raw["dist"] for raw in cases.values()}


# --------------------------------------------------------------------------------------
# parse_distribution
# --------------------------------------------------------------------------------------

ALL_KINDS = "one of pert, triangular, uniform, normal, lognormal, beta"


def problems_of(raw) -> list[tuple]:
    dist, problems = parse_distribution(raw)
    assert dist is None
    assert problems
    return problems


def test_is_distribution_mapping():
    assert is_distribution_mapping({"dist": "pert"})
    assert not is_distribution_mapping({"min": 1})
    assert not is_distribution_mapping(0.3)
    assert not is_distribution_mapping([("dist", "pert")])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"dist": "gamma", "shape": 2},
            ("dist", "unknown distribution", "gamma", ALL_KINDS),
        ),
        (
            {"dist": "triangle", "min": 0, "mode": 1, "max": 2},
            ("dist", "unknown distribution (did you mean 'triangular'?)", "triangle", ALL_KINDS),
        ),
        (
            {"dist": "gaussian", "mean": 0, "sd": 1},
            ("dist", "unknown distribution (did you mean 'normal'?)", "gaussian", ALL_KINDS),
        ),
        ({"dist": None}, ("dist", "unknown distribution", None, ALL_KINDS)),
        ({"min": 0, "max": 1}, ("dist", "missing parameter", None, ALL_KINDS)),
        (
            {"dist": "pert", "min": 0.1, "mode": 0.9, "max": 0.5},
            ("mode", "must lie between min and max", 0.9, "0.1 ≤ mode ≤ 0.5"),
        ),
        (
            {"dist": "triangular", "min": 0.1, "mode": 0.05, "max": 0.5},
            ("mode", "must lie between min and max", 0.05, "0.1 ≤ mode ≤ 0.5"),
        ),
        (
            {"dist": "pert", "min": 3, "mode": 3, "max": 3},
            ("max", "must be greater than min", 3.0, "> 3"),
        ),
        (
            {"dist": "uniform", "min": 2, "max": 1},
            ("max", "must be greater than min", 1.0, "> 2"),
        ),
        (
            {"dist": "normal", "mean": 0, "sd": 1, "min": 1, "max": 1},
            ("max", "must be greater than min", 1.0, "> 1"),
        ),
        ({"dist": "normal", "mean": 0, "sd": -1.0}, ("sd", "must be positive", -1.0, "> 0")),
        ({"dist": "normal", "mean": 0, "sd": 0}, ("sd", "must be positive", 0.0, "> 0")),
        ({"dist": "lognormal", "mean": 10, "sd": -1.0}, ("sd", "must be positive", -1.0, "> 0")),
        ({"dist": "lognormal", "mean": 0, "sd": 1}, ("mean", "must be positive", 0.0, "> 0")),
        ({"dist": "beta", "alpha": 0, "beta": 2}, ("alpha", "must be positive", 0.0, "> 0")),
        ({"dist": "beta", "alpha": 1, "beta": -2}, ("beta", "must be positive", -2.0, "> 0")),
        (
            {"dist": "beta", "alpha": 1, "beta": 2, "min": 2},
            ("min", "must be less than max (1 by default)", 2.0, "< 1"),
        ),
        (
            {"dist": "beta", "alpha": 1, "beta": 2, "max": -1},
            ("max", "must be greater than min (0 by default)", -1.0, "> 0"),
        ),
        (
            {"dist": "beta", "alpha": 1, "beta": 2, "min": 5, "max": 5},
            ("max", "must be greater than min", 5.0, "> 5"),
        ),
        ({"dist": "normal", "sd": 1}, ("mean", "missing parameter", None, "a number")),
        (
            {"dist": "pert", "min": 0, "mdoe": 1, "mode": 1, "max": 2},
            ("mdoe", "unknown parameter (did you mean 'mode'?)", 1, "min, mode, max"),
        ),
        (
            {"dist": "pert", "min": 0, "foo": 1, "mode": 1, "max": 2},
            ("foo", "unknown parameter", 1, "min, mode, max"),
        ),
        (
            {"dist": "normal", "mean": 0, "sd": 1, "maximum": 3},
            ("maximum", "unknown parameter (did you mean 'max'?)", 3, "mean, sd, min, max"),
        ),
        (
            {"dist": "uniform", "min": 0, "max": 1, "mode": 0.5},
            ("mode", "unknown parameter", 0.5, "min, max"),
        ),
        (
            {"dist": "lognormal", "mean": 5, "sd": 1, "mu": 1},
            (
                "mu",
                "unknown parameter (did you mean 'mean'?); lognormal takes the mean and sd "
                "of the value itself, not of its log",
                1,
                "mean, sd",
            ),
        ),
        (
            {"dist": "uniform", "min": "low", "max": 1},
            ("min", "must be a number", "low", "a number"),
        ),
        ({"dist": "uniform", "min": True, "max": 1}, ("min", "must be a number", True, "a number")),
        (
            {"dist": "uniform", "min": [0], "max": 1},
            ("min", "must be a number", [0], "a number"),
        ),
        (
            {"dist": "uniform", "min": 0, "max": "1e-3"},
            (
                "max",
                "must be a number",
                "1e-3",
                "a number, written without quotes (YAML reads 1e-3 as text; write 1.0e-3)",
            ),
        ),
        (
            {"dist": "uniform", "min": float("-inf"), "max": 1},
            ("min", "must be finite", float("-inf"), "a finite number"),
        ),
        (
            {"dist": "normal", "mean": 0, "sd": 1, "min": 9},
            (
                "mean",
                "lies more than 8 sd below min, so almost no probability is left inside the "
                "truncation",
                0.0,
                ">= 1 (min - 8 sd)",
            ),
        ),
        (
            {"dist": "normal", "mean": 20, "sd": 1, "max": 11.5},
            (
                "mean",
                "lies more than 8 sd above max, so almost no probability is left inside the "
                "truncation",
                20.0,
                "<= 19.5 (max + 8 sd)",
            ),
        ),
        (["pert", 1, 2, 3], ("", "must be a mapping", ["pert", 1, 2, 3], None)),
    ],
)
def test_parse_problem_kinds(raw, expected):
    problems = problems_of(raw)
    assert len(problems) == 1, problems
    subkey, message, got, allowed = problems[0]
    assert (subkey, message) == expected[:2]
    if got is None or isinstance(got, float) and math.isnan(got):
        assert got == expected[2] or got is expected[2]
    else:
        assert got == expected[2]
        assert type(got) is type(expected[2])
    if expected[3] is not None:
        assert allowed == expected[3]
    else:
        assert isinstance(allowed, str) and allowed


def test_parse_nan_is_not_finite():
    problems = problems_of({"dist": "normal", "mean": float("nan"), "sd": 1})
    assert [(p[0], p[1]) for p in problems] == [("mean", "must be finite")]


def test_parse_reports_every_problem_at_once():
    problems = problems_of({"dist": "pert", "min": "a", "mode": None, "mx": 3, "sd": 1})
    assert [(p[0], p[1]) for p in problems] == [
        ("mx", "unknown parameter (did you mean 'max'?)"),
        ("sd", "unknown parameter"),
        ("min", "must be a number"),
        ("mode", "must be a number"),
        ("max", "missing parameter"),
    ]
    problems = problems_of({"dist": "normal", "mean": 1, "sd": -2, "min": 3, "max": 1})
    assert [(p[0], p[1]) for p in problems] == [
        ("sd", "must be positive"),
        ("max", "must be greater than min"),
    ]
    problems = problems_of({"dist": "beta", "alpha": -1, "beta": 0, "min": 1, "max": 0})
    assert [p[0] for p in problems] == ["alpha", "beta", "max"]


def test_parse_accepts_edges_and_numpy_numbers():
    for raw in (
        {"dist": "PERT", "min": 0.1, "mode": 0.1, "max": 0.5},
        {"dist": " Triangular ", "min": 0, "mode": 1, "max": 1},
        {"dist": "uniform", "min": np.float32(0.5), "max": np.int64(2)},
        # 7.9 sd out is still inside the 8 sd rule.
        {"dist": "normal", "mean": 0, "sd": 1, "min": 7.9},
        {"dist": "normal", "mean": 0, "sd": 1, "max": 100},
    ):
        dist = make(raw)
        assert dist.dist in KINDS
        assert all(type(value) is float for _, value in dist.params)


# --------------------------------------------------------------------------------------
# check_correlation
# --------------------------------------------------------------------------------------


def test_check_correlation_builds_copula_matrix():
    pearson, problems = check_correlation(["a", "b", "c"], [("a", "b", 0.6), ("c", "a", -0.4)])
    assert problems == []
    expected = np.eye(3)
    expected[0, 1] = expected[1, 0] = 2 * math.sin(math.pi * 0.6 / 6)
    expected[0, 2] = expected[2, 0] = 2 * math.sin(math.pi * -0.4 / 6)
    np.testing.assert_allclose(pearson, expected, rtol=1e-15)
    pearson, problems = check_correlation(["a", "b"], [])
    assert problems == [] and np.array_equal(pearson, np.eye(2))


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("a", "b", 1.2)], "correlation between 'a' and 'b' is 1.2; it must lie between -1 and 1"),
        (
            [("a", "b", -1.5)],
            "correlation between 'a' and 'b' is -1.5; it must lie between -1 and 1",
        ),
        ([("a", "b", "high")], "correlation between 'a' and 'b' must be a number, got 'high'"),
        ([("a", "b", True)], "correlation between 'a' and 'b' must be a number, got True"),
        ([("a", "d", 0.3)], "correlation names unknown input 'd'"),
        ([("a", "bb", 0.3)], "correlation names unknown input 'bb' (did you mean 'b'?)"),
        ([("a", "a", 0.3)], "correlation pairs 'a' with itself"),
        ([("a",)], "correlation #1 must be (input, input, rho), got ('a',)"),
    ],
)
def test_check_correlation_problem_kinds(pairs, message):
    pearson, problems = check_correlation(["a", "b", "c"], pairs)
    assert pearson is None
    assert problems == [message]


def test_check_correlation_pair_given_twice():
    for second in [("a", "b", 0.2), ("b", "a", 0.3)]:
        pearson, problems = check_correlation(["a", "b"], [("a", "b", 0.2), second])
        assert pearson is None
        assert problems == [
            f"correlation between '{second[0]}' and '{second[1]}' is given twice "
            "(entries #1 and #2)"
        ]


def test_check_correlation_inconsistent_set_is_not_positive_definite():
    pairs = [("a", "b", 0.9), ("a", "c", 0.9), ("b", "c", -0.9)]
    pearson, problems = check_correlation(["a", "b", "c"], pairs)
    assert pearson is None
    assert len(problems) == 1
    assert problems[0].startswith(
        "correlations are inconsistent: the matrix is not positive definite (smallest eigenvalue "
    )
    smallest = np.linalg.eigvalsh(
        2 * np.sin(np.pi * np.array([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]]) / 6)
    )[0]
    assert f"(smallest eigenvalue {smallest:.3g})" in problems[0]
    assert smallest < 0


def test_check_correlation_perfect_correlation_explains_itself():
    pearson, problems = check_correlation(["a", "b"], [("a", "b", 1.0)])
    assert pearson is None
    assert problems[0].startswith("correlations are inconsistent: the matrix is not positive")
    assert "exactly 1 or -1" in problems[0]


def test_check_correlation_reports_all_problems():
    pairs = [("a", "b", 2.0), ("a", "zz", 0.1), ("c", "c", 0.1), ("a", "c", 0.5)]
    pearson, problems = check_correlation(["a", "b", "c", "a"], pairs)
    assert pearson is None
    assert problems == [
        "input 'a' is listed twice",
        "correlation between 'a' and 'b' is 2; it must lie between -1 and 1",
        "correlation names unknown input 'zz'",
        "correlation pairs 'c' with itself",
    ]


# --------------------------------------------------------------------------------------
# sample: independence, copula, reproducibility
# --------------------------------------------------------------------------------------

MARGINALS = {
    "pert": {"dist": "pert", "min": 0.01, "mode": 0.03, "max": 0.1},
    "lognormal": {"dist": "lognormal", "mean": 1200, "sd": 600},
    "triangular": {"dist": "triangular", "min": 0, "mode": 2, "max": 3},
    "truncated_normal": {"dist": "normal", "mean": 0.02, "sd": 0.02, "min": 0},
    "beta": {"dist": "beta", "alpha": 0.7, "beta": 3, "min": 5, "max": 6},
    "uniform": {"dist": "uniform", "min": -1, "max": 1},
}


@pytest.mark.parametrize("rho", [0.6, -0.4, 0.9])
@pytest.mark.parametrize(
    ("first", "second"),
    [("pert", "lognormal"), ("triangular", "truncated_normal"), ("beta", "uniform")],
)
def test_achieved_spearman_matches_requested(rho, first, second):
    dists = [make(MARGINALS[first]), make(MARGINALS[second])]
    pearson, problems = check_correlation([first, second], [(first, second, rho)])
    assert problems == []
    x = sample(dists, [stream_id(first), stream_id(second)], SEED, 0, N_RANK, pearson)
    achieved = stats.spearmanr(x[0], x[1]).statistic
    assert abs(achieved - rho) < 0.02


def test_three_way_correlation_and_untouched_input():
    names = ["pert", "lognormal", "triangular", "uniform"]
    dists = [make(MARGINALS[name]) for name in names]
    streams = [stream_id(name) for name in names]
    requested = [
        ("pert", "lognormal", 0.7),
        ("pert", "triangular", -0.3),
        ("lognormal", "triangular", -0.2),
    ]
    pearson, problems = check_correlation(names, requested)
    assert problems == []
    x = sample(dists, streams, SEED, 0, N_RANK, pearson)
    spearman = stats.spearmanr(x, axis=1).statistic
    for a, b, rho in requested:
        assert abs(spearman[names.index(a), names.index(b)] - rho) < 0.02
    assert abs(spearman[0, 3]) < 0.02
    # An input outside every correlation gets exactly its independent draws.
    independent = sample(dists, streams, SEED, 0, N_RANK)
    np.testing.assert_array_equal(x[3], independent[3])
    assert not np.array_equal(x[1], independent[1])
    # The marginals survive the copula.
    for row in range(3):
        assert stats.ks_2samp(x[row], independent[row]).pvalue > 1e-3


def test_independent_sample_is_ppf_of_uniforms():
    dists = [make(MARGINALS[name]) for name in MARGINALS]
    streams = [stream_id(name) for name in MARGINALS]
    x = sample(dists, streams, 3, 10, 510)
    assert x.shape == (len(dists), 500)
    for row, (dist, k) in enumerate(zip(dists, streams, strict=True)):
        np.testing.assert_array_equal(x[row], dist.ppf(uniforms(3, k, 10, 510)))
    assert not np.array_equal(x, sample(dists, streams, 4, 10, 510))


@pytest.mark.parametrize("correlated", [False, True])
def test_sample_prefix_and_chunks_are_exact(correlated):
    names = list(MARGINALS)
    dists = [make(MARGINALS[name]) for name in names]
    streams = [stream_id(name) for name in names]
    pearson = None
    if correlated:
        pairs = [("pert", "lognormal", 0.6), ("beta", "uniform", -0.4), ("pert", "beta", 0.2)]
        pearson, problems = check_correlation(names, pairs)
        assert problems == []
    full = sample(dists, streams, SEED, 0, 5000, pearson)
    np.testing.assert_array_equal(full[:, :1234], sample(dists, streams, SEED, 0, 1234, pearson))
    chunks = [
        sample(dists, streams, SEED, a, b, pearson) for a, b in [(0, 7), (7, 3001), (3001, 5000)]
    ]
    np.testing.assert_array_equal(np.concatenate(chunks, axis=1), full)
    np.testing.assert_array_equal(sample(dists, streams, SEED, 4999, 5000, pearson), full[:, 4999:])


def test_sample_rejects_mismatched_inputs():
    dists = [make(MARGINALS["pert"]), make(MARGINALS["uniform"])]
    with pytest.raises(ValueError, match="one stream per distribution"):
        sample(dists, [1], 0, 0, 10)
    with pytest.raises(ValueError, match="2x2"):
        sample(dists, [1, 2], 0, 0, 10, np.eye(3))
    with pytest.raises(ValueError, match="symmetric"):
        sample(dists, [1, 2], 0, 0, 10, np.array([[1.0, 0.5], [0.4, 1.0]]))
    with pytest.raises(ValueError, match="positive definite"):
        sample(dists, [1, 2], 0, 0, 10, np.array([[1.0, 1.5], [1.5, 1.0]]))
    assert sample([], [], 0, 0, 10).shape == (0, 10)


def test_correlated_uniforms_stay_inside_the_unit_interval():
    # With rho near 1 the combined scores reach far tails; ndtr must not return 0 or 1.
    dists = [make({"dist": "normal", "mean": 0, "sd": 1})] * 2
    pearson, _ = check_correlation(["a", "b"], [("a", "b", 0.999)])
    x = sample(dists, [1, 2], SEED, 0, 100_000, pearson)
    assert np.all(np.isfinite(x))
    assert ndtr(x).min() > 0


def test_docstring_examples_run():
    import cxsim.uncertainty.copula as copula
    import cxsim.uncertainty.distributions as distributions

    attempted = 0
    for module in (distributions, streams, copula):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0
        attempted += result.attempted
    assert attempted > 20
