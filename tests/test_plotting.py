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


@pytest.mark.parametrize(
    ("formatter", "locs", "expected"),
    [
        ("money", [1000, 1100, 1200], ["1,000", "1,100", "1,200"]),  # never "1k, 1k, 1k"
        ("money", [0, 2.5e6, 5e6, 7.5e6], ["0", "2.5M", "5.0M", "7.5M"]),
        ("money", [-2e4, 0, 2e4, 4e4], ["-20k", "0", "20k", "40k"]),
        ("money", [1.5e9, 2e9], ["1.5B", "2.0B"]),
        ("percent", [0.0075, 0.008, 0.0085], ["0.75%", "0.80%", "0.85%"]),
        ("percent", [0.0, 0.25, 0.5], ["0%", "25%", "50%"]),
    ],
)
def test_axis_labels_are_readable_and_distinct(formatter, locs, expected):
    from cxsim.outputs.axes import MoneyFormatter, PercentFormatter

    shown = (MoneyFormatter if formatter == "money" else PercentFormatter)()
    shown.set_locs(locs)
    labels = [shown(value) for value in locs]
    assert labels == expected
    assert len(set(labels)) == len(labels)


def test_short_money_labels_use_one_spelling():
    from cxsim.outputs.axes import money_text

    assert [money_text(x) for x in (2.04e6, -3.5e5, 980.0, 1.2e9)] == [
        "2.0M",
        "-350k",
        "980",
        "1.2B",
    ]
