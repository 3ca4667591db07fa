"""Numbers that stay numbers: sBG classes for any valid (α, β), non-finite draws refused with
the draw and its inputs, and seeds within the generator's 64 bits."""

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import cxsim
from cxsim.model.customers import POINT_SIZE, SCIPY_SIZE, _golub_welsch_beta, beta_classes
from cxsim.montecarlo import tasks
from cxsim.uncertainty.sampling import draw_inputs
from tests.conftest import FLAGSHIP

K = 16
MONTHS = np.arange(0, 1200)


def _survival(theta, weight, months=MONTHS):
    return (weight[0, :, None] * (1.0 - theta[0, :, None]) ** months).sum(axis=0)


def _sbg_survival(alpha: float, beta: float, months=MONTHS) -> np.ndarray:
    """Closed form B(α, β+t)/B(α, β) as the product of (β+j)/(α+β+j), j < t, in logs (no
    gamma functions, so it stays accurate for α+β up to the float maximum)."""
    with np.errstate(divide="ignore", over="ignore"):  # a tiny β: S(1) = 0 to float precision
        steps = np.log1p(-1.0 / (1.0 + (beta + np.arange(months.max())) / alpha))
    return np.exp(np.concatenate([[0.0], np.cumsum(steps)]))[months]


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize(
    "alpha_plus_beta", [2e3, 2e4, 1e6, 1e10, 1e16, 1e21, 1e23, 1e100, 1e300, 1.7e308]
)
def test_a_concentrated_beta_gives_its_survival_and_the_constant_churn_limit(
    alpha_plus_beta, batched
):
    """Mean churn 10% a period: the reported α+β ≈ 2,000 made every NPV NaN, α = 1e300
    crashed. Survival over 1,200 periods matches the closed form to 1e-14 and tends to
    constant churn 0.9^t as the variance vanishes."""
    alpha, beta = 0.1 * alpha_plus_beta, 0.9 * alpha_plus_beta
    theta, weight = beta_classes([alpha], [beta], K, batched=batched)
    assert np.isfinite(theta).all() and np.isfinite(weight).all()
    assert np.allclose(weight.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    survival = _survival(theta, weight)
    assert np.max(np.abs(survival - _sbg_survival(alpha, beta))) < 1e-14
    # Jensen: a spread of churn rates keeps more customers than their mean would; over 60
    # periods the excess is t(t−1)/2·Var/(1−p)² to first order in the variance.
    variance = 0.09 / (alpha_plus_beta + 1.0)
    limit = 0.9**MONTHS
    assert np.all(survival >= limit * (1 - 1e-13))
    t = MONTHS[:61]
    excess = survival[:61] / limit[:61] - 1.0
    assert np.all(excess <= t * (t - 1) / 2 * variance / 0.81 * 1.2 + 1e-13)


@pytest.mark.parametrize("mean", [1e-6, 0.01, 0.1, 0.5, 0.9, 0.999])
def test_the_rules_agree_where_they_meet(mean):
    """Continuity across both switches: scipy's rule and the overflow-free one at α+β = 400;
    the rule and the point mass at α+β = 1e22."""
    alpha, beta = mean * SCIPY_SIZE, (1 - mean) * SCIPY_SIZE
    scipy_rule = beta_classes([alpha], [beta], K)
    golub_welsch = _golub_welsch_beta(np.array([alpha]), np.array([beta]), K)
    assert np.max(np.abs(scipy_rule[0] - golub_welsch[0])) < 1e-13
    exact = MONTHS[: 2 * K]  # where a K-class rule is exact: survival to t = 2K − 1
    gap = _survival(*scipy_rule, exact) - _survival(*golub_welsch, exact)
    assert np.max(np.abs(gap)) < 1e-12
    below = beta_classes([mean * POINT_SIZE * 0.999], [(1 - mean) * POINT_SIZE * 0.999], K)
    above = beta_classes([mean * POINT_SIZE * 1.001], [(1 - mean) * POINT_SIZE * 1.001], K)
    assert np.max(np.abs(_survival(*below) - _survival(*above))) < 1e-12
    assert np.allclose(above[0], mean, rtol=1e-15, atol=0)


@settings(max_examples=300, deadline=None)
@given(
    log_alpha=st.floats(min_value=-323, max_value=308),
    log_beta=st.floats(min_value=-323, max_value=308),
    batched=st.booleans(),
)
def test_classes_are_probabilities_for_any_valid_alpha_and_beta(log_alpha, log_beta, batched):
    alpha, beta = 10.0**log_alpha, 10.0**log_beta
    theta, weight = beta_classes([alpha], [beta], K, batched=batched)
    assert np.all((theta >= 0) & (theta <= 1)) and np.all(weight >= 0)
    assert abs(weight.sum() - 1.0) < 1e-12
    with np.errstate(over="ignore"):
        mean = 1.0 / (1.0 + beta / alpha)
    assert abs(float((theta * weight).sum()) - mean) <= 1e-12 + 1e-9 * mean


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize(
    ("alpha", "beta"),
    [(1e-283, 5.0), (5.0, 1e-283), (5e-324, 5e-324), (0.01, 5.0), (5.0, 0.01), (0.3, 0.7)],
)
def test_a_tiny_alpha_or_beta_gives_its_survival(alpha, beta, batched):
    """α − 1 rounds to −1 below 1e-16, which scipy refused; and its rule lost 1e-12 of
    survival at α = 0.01. α+β = 1 is a 0/0 in the recurrence."""
    theta, weight = beta_classes([alpha], [beta], K, batched=batched)
    exact = MONTHS[: 2 * K]
    gap = _survival(theta, weight, exact) - _sbg_survival(alpha, beta, exact)
    assert np.max(np.abs(gap)) < 1e-13


def _flagship_with(**sbg) -> cxsim.Scenario:
    data = yaml.safe_load(FLAGSHIP.read_text())
    data["segments"]["mass_affluent"]["sbg"] = {**sbg, "period": "year"}
    return cxsim.load_scenario(data)


def _flagship_with_churn(monthly: float) -> cxsim.Scenario:
    data = yaml.safe_load(FLAGSHIP.read_text())
    segment = data["segments"]["mass_affluent"]
    del segment["sbg"]
    segment["monthly_churn"] = monthly
    return cxsim.load_scenario(data)


def test_a_large_homogeneous_cohort_runs_and_tends_to_constant_churn():
    """The reported case end to end: mean churn 10% a year with α+β = 2,000 gives finite
    NPVs close to constant churn 1 − 0.9^(1/12) a month; α = 1e300 equals it."""
    constant = cxsim.simulate(_flagship_with_churn(1 - 0.9 ** (1 / 12)), draws=20, seed=4)
    cohort = cxsim.simulate(_flagship_with(alpha=200.0, beta=1800.0), draws=20, seed=4)
    point = cxsim.simulate(_flagship_with(alpha=1e300, beta=9e300), draws=20, seed=4)
    for result in (cohort, point):
        assert np.isfinite(result.outcomes[["npv", "pv_cost", "pv_benefit"]]).all().all()
    assert np.allclose(point.npv, constant.npv, rtol=1e-12)
    scale = np.abs(constant.npv).max()
    gap = np.abs(cohort.npv - constant.npv).max()
    assert 1e-6 * scale < gap < 1e-3 * scale  # a Beta close to, but not yet, a point
    assert cohort.summary().value("NPV") > 0


def _poisoned(draw: int, path: str, value: float):
    """draw_inputs with one input of one draw replaced (as an overflow would leave it)."""
    original = tasks.draw_inputs

    def draw_inputs(scenario, seed, start, stop, fixed=None):
        values = original(scenario, seed, start, stop, fixed)
        if start <= draw < stop:
            values[path] = values[path].copy()
            values[path][draw - start] = value
        return values

    return draw_inputs


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("keep", ["all", "summary"])
def test_a_draw_without_a_number_fails_the_run_and_is_named(monkeypatch, keep):
    flagship = cxsim.load_scenario(FLAGSHIP)
    path = "segments.mass_market.arpu"
    monkeypatch.setattr(tasks, "draw_inputs", _poisoned(37, path, np.inf))
    with pytest.raises(cxsim.CxsimError) as caught:
        cxsim.simulate(flagship, draws=50, seed=2, keep=keep, chunk_size=16)
    message = str(caught.value)
    assert message.startswith("draw 37 gave npv = nan instead of a number")
    first = flagship.uncertain_inputs()[0].path
    drawn = draw_inputs(flagship, 2, 37, 38)[first][0]
    assert f"its drawn inputs: {first}={drawn:.6g}, " in message


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_optimize_never_recommends_from_nan(monkeypatch):
    from cxsim.analysis import evaluate

    original = evaluate.draw_inputs

    def poisoned(scenario, seed, start, stop, fixed=None):
        values = original(scenario, seed, start, stop, fixed)
        values["segments.mass_market.arpu"] = values["segments.mass_market.arpu"].copy()
        values["segments.mass_market.arpu"][3] = np.nan
        return values

    monkeypatch.setattr(evaluate, "draw_inputs", poisoned)
    with pytest.raises(cxsim.CxsimError, match=r"^draw 3 gave npv = nan instead of a number"):
        cxsim.optimize(FLAGSHIP, 20e6, draws=40, seed=1, progress=False)


@pytest.mark.parametrize("seed", [-1, 2**64, 2**64 + 5, 10**400])
def test_seeds_outside_64_bits_are_refused_with_the_range(seed):
    with pytest.raises(cxsim.CxsimError, match=r"seed must be a whole number from 0 to 2\*\*64"):
        cxsim.simulate(FLAGSHIP, draws=2, seed=seed)
    with pytest.raises(cxsim.CxsimError, match=r"from 0 to 2\*\*64 − 1"):
        cxsim.optimize(FLAGSHIP, 20e6, draws=10, seed=seed, progress=False)


@pytest.mark.parametrize("seed", [True, 1.5, "3"])
def test_seeds_that_are_not_whole_numbers_are_refused_alike(seed):
    # One check serves simulate, optimize and the Sobol' indices.
    from cxsim.analysis.global_sensitivity import sobol
    from cxsim.uncertainty.streams import SeedError

    for run in (
        lambda: cxsim.simulate(FLAGSHIP, draws=2, seed=seed),
        lambda: cxsim.optimize(FLAGSHIP, 20e6, draws=10, seed=seed, progress=False),
        lambda: sobol(cxsim.load_scenario(FLAGSHIP), n=8, seed=seed),
    ):
        with pytest.raises(SeedError, match=r"seed must be a whole number from 0 to 2\*\*64"):
            run()


def test_the_largest_seed_runs_and_differs_from_zero():
    top = cxsim.simulate(FLAGSHIP, draws=5, seed=2**64 - 1)
    assert not np.array_equal(top.npv, cxsim.simulate(FLAGSHIP, draws=5, seed=0).npv)


def test_every_number_is_the_same_for_any_chunking_keep_and_executor():
    """Means and deviations of the monthly bands were summed in an order that followed what
    a run kept (2.4e-8 apart on a discounted cumulative cash flow of 1.07e7); they are now
    merged in fixed blocks of draws, so every run below gives the same bits."""
    from concurrent.futures import ThreadPoolExecutor

    flagship = cxsim.load_scenario(FLAGSHIP)
    runs = [
        cxsim.simulate(flagship, draws=2500, seed=6, keep=keep, chunk_size=chunk)
        for keep, chunk in (("all", None), ("all", 1000), ("summary", 37), ("summary", 4096))
    ]
    with ThreadPoolExecutor(max_workers=2) as executor:
        runs.append(cxsim.simulate(flagship, draws=2500, seed=6, executor=executor))
    first = runs[0]
    keys = first.band_keys()
    for other in runs[1:]:
        assert other.outcomes.equals(first.outcomes)
        assert str(other.summary()) == str(first.summary())
        assert other.horizon_table().equals(first.horizon_table())
        for key in keys:
            a, b = first.band(key), other.band(key)
            assert np.array_equal(a.mean, b.mean) and np.array_equal(a.sd, b.sd), key
