"""The Evaluator answers "what is this variant's NPV on the same draws?" as simulate does.

Its shortcuts (inputs sampled once, one baseline, the cash-only engine path, variants as rows
of one call, item costs cached) must not change a bit: every check compares with
:func:`cxsim.simulate` run from scratch.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import cxsim
from cxsim.analysis.evaluate import Edit, Evaluator, Variant
from cxsim.analysis.planning.space import scaled
from cxsim.errors import CxsimError
from cxsim.montecarlo import outcomes_of_inputs
from cxsim.montecarlo.tasks import simulate_inputs
from cxsim.uncertainty.sampling import draw_inputs
from tests.conftest import FLAGSHIP

DRAWS, SEED = 120, 11


@pytest.fixture(scope="module")
def scenario():
    return cxsim.load_scenario(FLAGSHIP)


@pytest.fixture(scope="module")
def evaluator(scenario):
    return Evaluator(scenario, DRAWS, SEED)


def _npv(scenario, **kwargs):
    result = cxsim.simulate(scenario, draws=DRAWS, seed=SEED, progress=False, **kwargs)
    return result.outcomes["npv"].to_numpy()


def test_the_whole_programme_is_simulate_bit_for_bit(scenario, evaluator):
    (whole,) = evaluator.evaluate([Variant()])
    np.testing.assert_array_equal(whole.npv, _npv(scenario))


def test_switches_match_simulate_bit_for_bit(scenario, evaluator):
    names = list(scenario.work_groups)
    funded = names[::2]
    groups_on = tuple(name in funded for name in names)
    variants = [Variant(groups_on=groups_on), Variant(levers=("retention", "cost_to_serve"))]
    by_groups, by_levers = evaluator.evaluate(variants)
    np.testing.assert_array_equal(by_groups.npv, _npv(scenario, groups_on=funded))
    np.testing.assert_array_equal(
        by_levers.npv, _npv(scenario, levers=("retention", "cost_to_serve"))
    )


def test_variants_batched_as_rows_equal_variants_run_alone(scenario):
    # Few draws: several variants share one engine call as rows.
    few = Evaluator(scenario, 40, SEED)
    count = len(scenario.work_groups)
    variants = [Variant(groups_on=tuple(k == g for k in range(count))) for g in range(count)] + [
        Variant(edits=(Edit("group", 0, "target", scale=0.5),))
    ]
    together = few.evaluate(variants)
    for variant, joint in zip(variants, together, strict=True):
        (alone,) = Evaluator(scenario, 40, SEED).evaluate([variant])
        np.testing.assert_array_equal(joint.npv, alone.npv)
        np.testing.assert_array_equal(joint.spend, alone.spend)


def test_an_executor_gives_the_same_bits(evaluator):
    count = len(evaluator.scenario.work_groups)
    variants = [Variant(groups_on=tuple(k != g for k in range(count))) for g in range(count)]
    serial = evaluator.evaluate(variants)
    with ThreadPoolExecutor(2) as pool:
        pooled = evaluator.evaluate(variants, executor=pool)
    for a, b in zip(serial, pooled, strict=True):
        np.testing.assert_array_equal(a.npv, b.npv)


def test_spend_without_the_engine_is_the_programme_cost(scenario, evaluator):
    result = cxsim.simulate(scenario, draws=DRAWS, seed=SEED, progress=False, keep="all")
    spend = evaluator.spend(Variant())
    np.testing.assert_allclose(spend, result.programme_cost.sum(axis=1), rtol=1e-12)
    (whole,) = evaluator.evaluate([Variant()])
    np.testing.assert_array_equal(whole.spend, spend)


def test_an_edit_equals_the_rewritten_scenario(scenario, evaluator):
    """Halving a work group's cost in the sampled inputs is the scenario with half the cost."""
    name = next(iter(scenario.work_groups))
    group = scenario.work_groups[name]
    halved = scenario.with_overrides(
        {
            f"work_groups.{name}.cost.one_time": _half(group.cost.one_time),
            f"work_groups.{name}.cost.monthly": _half(group.cost.monthly),
        }
    )
    edits = (
        Edit("group", 0, "cost_one_time", scale=0.5),
        Edit("group", 0, "cost_monthly", scale=0.5),
    )
    (edited,) = evaluator.evaluate([Variant(edits=edits)])
    np.testing.assert_allclose(edited.npv, _npv(halved), rtol=1e-9, atol=1e-3)


def _half(value):
    return scaled(value, 0.5)


def test_an_unknown_edit_and_no_draws_are_errors(scenario, evaluator):
    with pytest.raises(CxsimError, match="cannot edit group field 'colour'"):
        evaluator.evaluate([Variant(edits=(Edit("group", 0, "colour", scale=2),))])
    with pytest.raises(CxsimError, match="draws must be at least 1"):
        Evaluator(scenario, 0, SEED)


@pytest.mark.parametrize("outcome", ["npv", "pv_benefit", "pv_cost", "roi"])
def test_outcomes_of_inputs_match_the_full_engine(scenario, outcome):
    """NPV and its parts take the cash-only path; they equal the full engine's, bit for bit."""
    values = draw_inputs(scenario, SEED, 0, 50, {})
    full = simulate_inputs(scenario, values).outcomes[outcome].to_numpy(dtype=float)
    np.testing.assert_array_equal(outcomes_of_inputs(scenario, values, outcome), full)
