"""The equations of the causal chain (docs/model.md), one module per link, in chain order.

:mod:`~cxsim.model.params` (inputs as arrays) → :mod:`~cxsim.model.leading` (plans → leading
indicators, programme cost) → :mod:`~cxsim.model.propagation` (gap closure, the perception
filter) → :mod:`~cxsim.model.operating_model` (capabilities, journeys, synergies) →
:mod:`~cxsim.model.customers` (latent churn classes) → :mod:`~cxsim.model.engine` (responses and
the monthly customer recursion) → :mod:`~cxsim.model.finance` (present value, NPV, IRR, payback,
CLV).
"""
