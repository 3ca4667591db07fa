"""Which customers to grow: segments ranked by value after cost to serve.

The seeds' first key is "identifying your true core-growth customers", because "false ideal
customers are the norm" when business development never asks support which customers drive
costs up. The ranking orders segments by the forward value of a customer after the cost to
serve them (``clv``: the baseline's margin after cost to serve, discounted over the
customer's expected life, docs/model.md §5) and names the segments where that value is
negative: each of their paid acquisitions also costs ``cac``, so every one bought loses
money. Those are what ``acquisition_shifts:`` acts on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cxsim.uncertainty.distributions import Distribution

if TYPE_CHECKING:
    from cxsim.outputs.views import BaseResult


def segment_ranking(result: BaseResult) -> pd.DataFrame:
    """Segments ranked by value after cost to serve, false ideal customers named.

    Columns: ``rank`` (1 = most valuable), ``margin_per_customer`` (money per customer per
    month after cost to serve, today), ``clv`` (forward value of today's average customer),
    ``cac`` (mean cost per paid acquisition), ``value_after_cac`` (``clv − cac``: what one
    more paid customer is worth, were they like today's average customer) and
    ``false_ideal_customer`` (value after cost to serve below zero). For a segment with
    heterogeneous churn (``sbg``) today's customers are the ones who stayed, so a new
    customer is worth somewhat less than ``clv``.

    Examples
    --------
    >>> import cxsim
    >>> result = cxsim.simulate("scenarios/retail_bank.yaml", draws=20, progress=False)
    >>> ranking = result.segment_ranking()
    >>> list(ranking.index[ranking["false_ideal_customer"]])
    ['branch_dependent']
    """
    economics = result.segment_economics()
    # The input's expected value: a streamed run keeps no per-draw inputs.
    cac = [_mean(result.scenario.segments[s].cac) for s in result.segments]
    frame = pd.DataFrame(
        {
            "margin_per_customer": economics["margin_per_customer"],
            "clv": economics["clv"],
            "cac": pd.Series(cac, index=result.segments),
        }
    )
    frame["value_after_cac"] = frame["clv"] - frame["cac"]
    frame["false_ideal_customer"] = frame["clv"] < 0
    frame = frame.sort_values("clv", ascending=False, kind="stable")
    frame.insert(0, "rank", range(1, len(frame) + 1))
    frame.index.name = "segment"
    return frame


def _mean(value: float | Distribution) -> float:
    return value.mean() if isinstance(value, Distribution) else float(value)
