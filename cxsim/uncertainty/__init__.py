"""Inputs → draws: distributions, counter-based random streams, the copula, sampling.

:mod:`~cxsim.uncertainty.distributions` holds the distribution specs the scenario schema
parses (plain values with their maths); :mod:`~cxsim.uncertainty.sampling` turns a scenario's
inputs into arrays of draws, where draw ``i`` depends only on the seed and ``i``.
"""
