"""Perceived closure → what customers do: the lagging responses (docs/model.md §4).

At perceived gap closure ``X`` (0 in the baseline arm), relative to the segment's baseline:

- every latent class's churn hazard × ``(1 − c·X)`` (and × ``(1 + k·promise gap)`` when branding
  runs ahead of the experience, docs/model.md §8);
- share of wallet ``w = min(w0 + Δw·X, 1)``, revenue per customer ``ARPU·w/w0``;
- detractors ``d = d0·(1 − Δd·X)``, promoters ``p = min(p0 + Δp·X, 1 − d)``, ``NPS = 100·(p − d)``;
- referrals ``N·p·referral_rate``; contacts per customer ``c0·(1 − a·X)``.

The engine reads these per-customer responses inside its monthly recursion; a result asks
this module for the metrics it derives from them (:func:`segment_metric`), so every response
equation is written once, here.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cached_property

import numpy as np

LEVERS = ("retention", "share_of_wallet", "referrals", "cost_to_serve", "acquisition")

# Per-segment metrics derived on demand from the engine's stored metrics and the inputs.
DERIVED_METRICS = (
    "share_of_wallet",
    "promoters",
    "detractors",
    "new_customers",
    "contacts_per_customer",
    "revenue",
    "cost_to_serve",
    "acquisition_cost",
)
# Which Responses attribute each per-customer metric is.
_PER_CUSTOMER = {
    "share_of_wallet": "wallet",
    "promoters": "promoters",
    "detractors": "detractors",
    "contacts_per_customer": "contacts",
    "revenue": "revenue_pc",
    "cost_to_serve": "serve_pc",
}


class Responses:
    """Per-customer responses to perceived closure ``x`` (docs/model.md §4), computed on first use.

    ``seg`` and ``resp`` hold (draw, S) inputs; ``x`` is (draw, S, H) or (draw, S, 1).
    Every attribute is an array broadcastable to (draw, S, H). A lever switched off keeps
    its baseline value (used to attribute value to levers); NPS always moves.
    """

    def __init__(
        self,
        seg: dict,
        resp: dict,
        x: np.ndarray,
        levers: Collection[str] | np.ndarray = LEVERS,
        promise_gap: np.ndarray | None = None,
        penalty: np.ndarray | None = None,
    ):
        self.seg, self.resp, self.x = seg, resp, x
        self.switch = lever_switches(levers)
        self.promise_gap, self.penalty = promise_gap, penalty

    def _elasticity(self, lever: str, field: str) -> np.ndarray | float:
        on = self.switch[lever]
        if on is True:
            return self.resp[field][:, :, None]
        if on is False:
            return 0.0
        return self.resp[field][:, :, None] * on[:, None, None]

    def _base(self, field: str) -> np.ndarray:
        return self.seg[field][:, :, None]

    @cached_property
    def hazard_scale(self) -> np.ndarray:
        """Multiplies every class's churn hazard: ``(1 − c·X)·(1 + k·promise gap)``.

        The promise gap (branding ahead of perceived experience, docs/model.md §8) counts with
        the retention lever: switched off, churn does not respond at all.
        """
        scale = 1.0 - self._elasticity("retention", "churn_reduction") * self.x
        on = self.switch["retention"]
        if self.promise_gap is not None and self.penalty is not None and on is not False:
            penalty = self.penalty if on is True else self.penalty * on
            scale = scale * (1.0 + penalty[:, None, None] * self.promise_gap)
        return scale

    @cached_property
    def wallet(self) -> np.ndarray:
        """Share of wallet ``w = min(w0 + Δw·X, 1)``."""
        gain = self._elasticity("share_of_wallet", "wallet_gain") * self.x
        return np.minimum(self._base("share_of_wallet") + gain, 1.0)

    @cached_property
    def detractors(self) -> np.ndarray:
        """``d = d0·(1 − Δd·X)``."""
        return self._base("detractors") * (
            1.0 - self.resp["detractor_reduction"][:, :, None] * self.x
        )

    @cached_property
    def promoters(self) -> np.ndarray:
        """``p = min(p0 + Δp·X, 1 − d)``."""
        gain = self.resp["promoter_gain"][:, :, None] * self.x
        return np.minimum(self._base("promoters") + gain, 1.0 - self.detractors)

    @cached_property
    def referring(self) -> np.ndarray:
        """Promoters who drive referrals (``p``, or ``p0`` with the referrals lever off)."""
        gain = self._elasticity("referrals", "promoter_gain") * self.x
        return np.minimum(self._base("promoters") + gain, 1.0 - self.detractors)

    @cached_property
    def contacts(self) -> np.ndarray:
        """Contacts per customer ``c0·(1 − a·X)``."""
        avoided = self._elasticity("cost_to_serve", "avoidable_contacts") * self.x
        return self._base("contacts_per_customer") * (1.0 - avoided)

    @cached_property
    def revenue_pc(self) -> np.ndarray:
        """Revenue per customer ``ARPU·w/w0``."""
        return self._base("arpu") * self.wallet / self._base("share_of_wallet")

    @cached_property
    def serve_pc(self) -> np.ndarray:
        """Cost to serve per customer."""
        return self.contacts * self._base("cost_per_contact")

    @cached_property
    def margin_pc(self) -> np.ndarray:
        """Revenue × gross margin − cost to serve, per customer."""
        return self.revenue_pc * self._base("gross_margin") - self.serve_pc


def lever_switches(levers: Collection[str] | np.ndarray) -> dict[str, bool | np.ndarray]:
    """Each lever on or off: True/False for every draw, or (draw,) 0/1 weights.

    ``levers`` names the levers that respond, or is a (draw, lever) boolean mask in
    :data:`LEVERS` order that switches them row by row (many attributions in one engine call).
    """
    if isinstance(levers, np.ndarray):
        return {name: levers[:, k].astype(float) for k, name in enumerate(LEVERS)}
    chosen = set(levers)
    return {name: name in chosen for name in LEVERS}


def arms(
    seg: dict, resp: dict, perceived: np.ndarray, levers: Collection[str] = LEVERS
) -> tuple[Responses, Responses]:
    """Responses of the programme arm (at ``perceived``) and the baseline arm (at 0).

    ``perceived`` is (draw, S, H) for every month, or (draw, S, 1) for one month.
    """
    zero = np.zeros((perceived.shape[0], perceived.shape[1], 1))
    return Responses(seg, resp, perceived, levers), Responses(seg, resp, zero, levers)


def paid_acquisitions(seg: dict, shape: tuple, acquisition_factor: np.ndarray | None) -> np.ndarray:
    """Paid acquisitions per (arm, draw, S, H): the same in both arms, lifted by branding's
    ``acquisition_factor`` (draw, H) in the programme arm (docs/model.md §8)."""
    paid = np.broadcast_to(seg["new_customers_per_month"][None, :, :, None], shape).copy()
    if acquisition_factor is not None:
        paid[0] *= acquisition_factor[:, None, :]
    return paid


def acquisition_cost(seg: dict, paid: np.ndarray, referrals: np.ndarray) -> np.ndarray:
    """Paid acquisitions at their CAC plus referred customers at the referral cost."""
    return paid * seg["cac"][None, :, :, None] + referrals * seg["referral_cost"][None, :, :, None]


def segment_metric(
    name: str,
    responses: tuple[Responses, Responses],
    customers: np.ndarray,
    referrals: np.ndarray,
    seg: dict,
    acquisition_factor: np.ndarray | None,
) -> np.ndarray:
    """A derived per-segment metric (one of :data:`DERIVED_METRICS`), (arm, draw, S, H).

    ``customers`` and ``referrals`` are the engine's stored (arm, draw, S, H) metrics.
    """
    if name in ("new_customers", "acquisition_cost"):
        paid = paid_acquisitions(seg, customers.shape, acquisition_factor)
        if name == "new_customers":
            return paid + referrals
        return acquisition_cost(seg, paid, referrals)
    per_customer = np.stack(
        [np.broadcast_to(getattr(r, _PER_CUSTOMER[name]), customers.shape[1:]) for r in responses]
    )
    if name in ("revenue", "cost_to_serve"):
        return customers * per_customer
    return per_customer


def net_promoter_share(responses: Responses) -> np.ndarray:
    """``p − d``, the share behind ``NPS = 100·(p − d)``."""
    return responses.promoters - responses.detractors
