"""Altair charts of the dashboard. Vega-Lite ships with Streamlit and draws in the browser, so no chart
needs map tiles, fonts or scripts from the internet.

Every chart is `localized`: Vega gets the language's number and date symbols (from Babel's CLDR data, see
`formatting.vega_locale`), so an axis reads `120.000` in Portuguese and `120,000` in English.
"""

from __future__ import annotations

from typing import Any, Literal

import altair as alt
import pandas as pd

from dashboard.formatting import vega_locale
from dashboard.i18n import Language

MONEY = ",.2f"
MONEY_AXIS = ",.0f"
SHARE = ".1%"


def localized(chart: Any, language: Language) -> Any:
    """The chart with the language's number and time locale."""
    return chart.configure(locale=vega_locale(language))


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


def state_grid(
    frame: pd.DataFrame, value: str, value_title: str, tooltip: list[alt.Tooltip], language: Language
) -> alt.LayerChart:
    """States as tiles coloured by `value` (frame has state_code and the tooltip columns)."""
    tiles = frame[frame["state_code"].isin(STATE_TILES)].assign(
        tile_x=lambda f: f["state_code"].map(lambda s: STATE_TILES[s][0]),
        tile_y=lambda f: f["state_code"].map(lambda s: STATE_TILES[s][1]),
    )
    base = alt.Chart(tiles).encode(
        x=alt.X("tile_x:O", axis=None), y=alt.Y("tile_y:O", axis=None), tooltip=tooltip
    )
    rect = base.mark_rect(cornerRadius=4, stroke="white", strokeWidth=2).encode(
        color=alt.Color(
            f"{value}:Q",
            title=value_title,
            scale=alt.Scale(scheme="blues"),
            legend=alt.Legend(format=MONEY_AXIS),
        )
    )
    dark = float(tiles[value].max()) / 2 if len(tiles) else 0.0  # white text on the darker half
    text = base.mark_text(fontWeight="bold").encode(
        text="state_code:N",
        color=alt.condition(alt.datum[value] > dark, alt.value("white"), alt.value("black")),
    )
    return localized((rect + text).properties(height=460, width=420), language)


def bars(
    frame: pd.DataFrame,
    category: str,
    value: str,
    category_title: str,
    value_title: str,
    language: Language,
    value_format: str = MONEY,
) -> alt.Chart:
    """Horizontal bars, largest first."""
    return localized(
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{value}:Q", title=value_title, axis=alt.Axis(format=MONEY_AXIS)),
            y=alt.Y(f"{category}:N", title=category_title, sort="-x"),
            tooltip=[
                alt.Tooltip(f"{category}:N", title=category_title),
                alt.Tooltip(f"{value}:Q", title=value_title, format=value_format),
            ],
        ),
        language,
    )


def diverging_bars(
    frame: pd.DataFrame, category: str, value: str, category_title: str, value_title: str, language: Language
) -> alt.Chart:
    """Signed horizontal bars (growth green, decline red), in the frame's order."""
    return localized(
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{value}:Q", title=value_title, axis=alt.Axis(format=MONEY_AXIS)),
            y=alt.Y(f"{category}:N", title=category_title, sort=None),
            color=alt.condition(alt.datum[value] >= 0, alt.value("#2e7d32"), alt.value("#c62828")),
            tooltip=[
                alt.Tooltip(f"{category}:N", title=category_title),
                alt.Tooltip(f"{value}:Q", title=value_title, format=MONEY),
            ],
        ),
        language,
    )


def monthly_lines(
    frame: pd.DataFrame,
    *,
    y_title: str,
    x_title: str,
    series_title: str,
    incomplete_title: str,
    language: Language,
    y_format: str = MONEY,
) -> alt.LayerChart:
    """Monthly series (columns: month as a date, value, series, segment, incomplete, label).

    Months are on a time axis, so a month without data is a gap in the line, never skipped; rows of one
    series sharing a `segment` are joined, and a missing month starts a new segment. Incomplete months
    are drawn as hollow points."""
    base = alt.Chart(frame).encode(
        x=alt.X("month:T", title=x_title, timeUnit="yearmonth", axis=alt.Axis(format="%b %Y")),
        y=alt.Y("value:Q", title=y_title, axis=alt.Axis(format=MONEY_AXIS)),
        color=alt.Color("series:N", title=series_title, legend=alt.Legend(orient="bottom")),
        tooltip=[
            alt.Tooltip("label:N", title=x_title),
            alt.Tooltip("series:N", title=series_title),
            alt.Tooltip("value:Q", title=y_title, format=y_format),
            alt.Tooltip("state:N", title=incomplete_title),
        ],
    )
    line = base.mark_line().encode(detail="segment:N")
    points = base.mark_point(size=60, filled=True).encode(
        fill=alt.condition(alt.datum.incomplete, alt.value("white"), alt.Color("series:N", legend=None)),
        strokeDash=alt.value([0]),
    )
    return localized(alt.layer(line, points), language)


def heatmap(
    frame: pd.DataFrame,
    x: str,
    y: str,
    value: str,
    titles: tuple[str, str, str],
    language: Language,
    scheme: Literal["orangered", "greens"] = "orangered",
    value_format: str = ",.1f",
) -> alt.Chart:
    """A matrix of `value` by `x` and `y`; null values are left blank (not coloured)."""
    return localized(
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X(f"{x}:O", title=titles[0]),
            y=alt.Y(f"{y}:O", title=titles[1]),
            color=alt.Color(
                f"{value}:Q",
                title=titles[2],
                scale=alt.Scale(scheme=scheme),
                legend=alt.Legend(format=value_format),
            ),
            tooltip=[
                alt.Tooltip(f"{x}:O", title=titles[0]),
                alt.Tooltip(f"{y}:O", title=titles[1]),
                alt.Tooltip(f"{value}:Q", title=titles[2], format=value_format),
            ],
        ),
        language,
    )
