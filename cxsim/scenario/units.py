"""What each numeric input means to a reader: a readable name and its unit.

A dotted path such as ``segments.mass_market.arpu`` is exact but not what a finance partner
reads; :func:`describe` gives ``"ARPU (mass_market)"`` and the unit ``money``, so tables,
charts and the workbook can label inputs and format their values (a share as a percentage,
money with separators, months as months).

Units: ``money`` (currency per its context: per customer per month, one-time…), ``share``
(a fraction 0–1, shown as a percentage), ``rate`` (a fraction per year, shown as a
percentage), ``months``, ``count`` (customers), ``number`` (a plain quantity: contacts per
customer, an sBG parameter, a multiplier).
"""

from __future__ import annotations

# The last key of a path → (readable name, unit).
_KEYS: dict[str, tuple[str, str]] = {
    "discount_rate": ("discount rate (annual)", "rate"),
    "horizon_months": ("horizon", "months"),
    "customers": ("customers today", "count"),
    "arpu": ("ARPU, per customer per month", "money"),
    "gross_margin": ("gross margin", "share"),
    "monthly_churn": ("monthly churn", "share"),
    "tenure_months": ("tenure", "months"),
    "base_age_months": ("customer base age", "months"),
    "share_of_wallet": ("share of wallet", "share"),
    "promoters": ("promoters", "share"),
    "detractors": ("detractors", "share"),
    "contacts_per_customer": ("contacts per customer per month", "number"),
    "cost_per_contact": ("cost per contact", "money"),
    "new_customers_per_month": ("new customers per month", "count"),
    "cac": ("acquisition cost per customer", "money"),
    "referral_rate": ("referrals per promoter per month", "share"),
    "referral_cost": ("cost per referred customer", "money"),
    "market_size": ("market size", "count"),
    "alpha": ("sBG alpha", "number"),
    "beta": ("sBG beta", "number"),
    "churn_reduction": ("churn reduction at full closure", "share"),
    "wallet_gain": ("share-of-wallet gain at full closure", "share"),
    "promoter_gain": ("promoter gain at full closure", "share"),
    "detractor_reduction": ("detractor reduction at full closure", "share"),
    "avoidable_contacts": ("avoidable contacts at full closure", "share"),
    "perception_delay_months": ("perception delay", "months"),
    "perception_lag_months": ("perception smoothing", "months"),
    "start_month": ("start month", "months"),
    "ramp_months": ("ramp", "months"),
    "target": ("target progress", "share"),
    "one_time": ("one-time cost", "money"),
    "monthly": ("running cost per month", "money"),
    "execution": ("execution", "share"),
    "level": ("maturity today", "share"),
    "targeting_floor": ("targeting floor", "share"),
    "execution_floor": ("execution floor", "share"),
    "acquisition_uplift": ("acquisition uplift at full promise", "share"),
    "promise_penalty": ("churn penalty per unit of promise gap", "number"),
    "bonus": ("synergy bonus", "share"),
}
# Sections whose second key names a thing (a segment, a work group…).
_NAMED = {
    "segments": "",
    "work_groups": "",
    "capabilities": "",
    "journeys": "journey ",
}
UNITS = ("money", "share", "rate", "months", "count", "number")


def describe(path: str) -> tuple[str, str]:
    """``(readable name, unit)`` of the numeric input at a dotted path.

    >>> describe("segments.mass_market.arpu")
    ('ARPU, per customer per month (mass_market)', 'money')
    >>> describe("work_groups.it.pain_share.branch_dependent")
    ('pain share of branch_dependent (it)', 'share')
    >>> describe("responses.churn_reduction")
    ('churn reduction at full closure', 'share')
    """
    parts = path.split(".")
    owner = ""
    if parts[0] in _NAMED and len(parts) > 2:
        owner = _NAMED[parts[0]] + parts[1]
    elif parts[0] == "synergies" and len(parts) > 2:
        owner = f"synergy {parts[1]}"
    if len(parts) >= 2 and parts[-2] == "pain_share":
        name, unit = f"pain share of {parts[-1]}", "share"
    else:
        name, unit = _KEYS.get(parts[-1], (parts[-1].replace("_", " "), "number"))
    if len(parts) > 3 and parts[2] == "responses":
        name += ", segment override"
    return (f"{name} ({owner})" if owner else name), unit
