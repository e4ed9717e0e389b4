"""Altair charts of the dashboard. Vega-Lite ships with Streamlit and draws in the browser, so no chart
needs map tiles, fonts or scripts from the internet."""

from __future__ import annotations

from typing import Literal

import altair as alt
import pandas as pd

# A tile grid of Brazil: (column, row) of each state, roughly where it lies, one tile each so small states
# stay visible (no map shapes to download).
STATE_TILES: dict[str, tuple[int, int]] = {
    "RR": (2, 0), "AP": (4, 0),
    "AM": (1, 1), "PA": (3, 1), "MA": (4, 1), "CE": (5, 1), "RN": (6, 1),
    "AC": (0, 2), "RO": (1, 2), "TO": (3, 2), "PI": (4, 2), "PE": (5, 2), "PB": (6, 2),
    "MT": (2, 3), "GO": (3, 3), "DF": (4, 3), "BA": (5, 3), "AL": (6, 3),
    "MS": (2, 4), "MG": (4, 4), "ES": (5, 4), "SE": (6, 4),
    "SP": (3, 5), "RJ": (4, 5),
    "PR": (3, 6),
    "SC": (3, 7),
    "RS": (3, 8),
}  # fmt: skip


def state_grid(frame: pd.DataFrame, value: str, value_title: str, tooltip: list[str]) -> alt.LayerChart:
    """States as tiles coloured by `value` (frame has state_code and the tooltip columns)."""
    tiles = frame[frame["state_code"].isin(STATE_TILES)].assign(
        tile_x=lambda f: f["state_code"].map(lambda s: STATE_TILES[s][0]),
        tile_y=lambda f: f["state_code"].map(lambda s: STATE_TILES[s][1]),
    )
    base = alt.Chart(tiles).encode(
        x=alt.X("tile_x:O", axis=None), y=alt.Y("tile_y:O", axis=None), tooltip=tooltip
    )
    rect = base.mark_rect(cornerRadius=4, stroke="white", strokeWidth=2).encode(
        color=alt.Color(f"{value}:Q", title=value_title, scale=alt.Scale(scheme="blues"))
    )
    dark = float(tiles[value].max()) / 2 if len(tiles) else 0.0  # white text on the darker half
    text = base.mark_text(fontWeight="bold").encode(
        text="state_code:N",
        color=alt.condition(alt.datum[value] > dark, alt.value("white"), alt.value("black")),
    )
    return (rect + text).properties(height=460, width=420)


def bars(frame: pd.DataFrame, category: str, value: str, category_title: str, value_title: str) -> alt.Chart:
    """Horizontal bars, largest first."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{value}:Q", title=value_title),
            y=alt.Y(f"{category}:N", title=category_title, sort="-x"),
            tooltip=[category, value],
        )
    )


def lines(frame: pd.DataFrame, x: str, y: str, series: str, x_title: str, y_title: str) -> alt.Chart:
    """One line per `series` value (long format)."""
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:O", title=x_title),
            y=alt.Y(f"{y}:Q", title=y_title),
            color=alt.Color(f"{series}:N", title=None),
            tooltip=[x, series, y],
        )
    )


def heatmap(
    frame: pd.DataFrame,
    x: str,
    y: str,
    value: str,
    titles: tuple[str, str, str],
    scheme: Literal["orangered", "greens"] = "orangered",
) -> alt.Chart:
    """A matrix of `value` by `x` and `y`."""
    return (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X(f"{x}:O", title=titles[0]),
            y=alt.Y(f"{y}:O", title=titles[1]),
            color=alt.Color(f"{value}:Q", title=titles[2], scale=alt.Scale(scheme=scheme)),
            tooltip=[x, y, value],
        )
    )
