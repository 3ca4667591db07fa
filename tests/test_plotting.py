"""Plots: ax in, Axes out; legends placed explicitly; band labels that say which band."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import cxsim  # noqa: E402
from cxsim.outputs import plotting  # noqa: E402
from tests.conftest import FLAGSHIP  # noqa: E402


@pytest.fixture(scope="module")
def result():
    return cxsim.simulate(FLAGSHIP, draws=40, seed=5)


def _legend_texts(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


@pytest.mark.parametrize(
    "draw",
    [
        lambda r, ax: plotting.plot_leading(r, ax=ax),
        lambda r, ax: plotting.plot_lagging(r, "churn", ax=ax),
        lambda r, ax: plotting.plot_cash_flow(r, ax=ax),
        lambda r, ax: plotting.plot_cash_flow(r, ax=ax, discounted=True),
        lambda r, ax: plotting.plot_timeline(r, ax=ax),
        lambda r, ax: plotting.plot_npv_histogram(r, ax=ax),
    ],
)
def test_plots_draw_on_the_given_axes_with_an_explicit_legend(result, draw):
    figure, ax = plt.subplots()
    try:
        assert draw(result, ax) is ax
        # 0 is matplotlib's "best": a search that warns when slow (and fails a strict suite).
        assert ax.get_legend()._loc != 0
    finally:
        plt.close(figure)


def test_the_band_label_names_the_band_drawn(result):
    figure, ax = plt.subplots()
    try:
        plotting.plot_cash_flow(result, ax=ax, band=(0.1, 0.9))
        texts = _legend_texts(ax)
        assert "p10–p90" in texts and "payback p10–p90" in texts
        assert not any("p5" in text for text in texts)
        ax.clear()
        plotting.plot_lagging(result, "customers", ax=ax, band=(0.25, 0.75))
        assert "programme p25–p75" in _legend_texts(ax)
    finally:
        plt.close(figure)
