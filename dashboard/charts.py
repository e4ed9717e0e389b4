"""Altair charts of the dashboard. Vega-Lite ships with Streamlit and draws in the browser, so no chart
needs map tiles, fonts or scripts from the internet.

Every chart is `localized`: Vega gets the language's number and date symbols (from Babel's CLDR data, see
`formatting.vega_locale`), so an axis reads `120.000` in Portuguese and `120,000` in English.
"""

from __future__ import annotations

from pathlib import Path
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


BRAZIL_STATES_FILE = Path(__file__).resolve().parent / "static" / "brazil_states.geojson"
BRAZIL_STATES_URL = "app/static/brazil_states.geojson"
"""The 27 states, simplified from Natural Earth's public-domain 1:50m admin-1 boundaries
(scripts/build_brazil_states.py rebuilds it), served by the app's own server (static serving, see
.streamlit/config.toml): no map tiles, no network beyond the dashboard. Streamlit cannot pass a GeoJSON
inline (it turns every inline dataset into a table), hence the URL, relative to the app's root."""


def state_map(
    frame: pd.DataFrame, value: str, value_title: str, tooltip: list[alt.Tooltip], language: Language
) -> alt.Chart:
    """A choropleth of the states coloured by `value` (frame has state_code and the tooltip columns)."""
    shapes = alt.UrlData(BRAZIL_STATES_URL, format=alt.DataFormat(property="features", type="json"))
    return localized(
        alt.Chart(frame)
        .mark_geoshape(stroke="white", strokeWidth=0.8)
        .transform_lookup(
            lookup="state_code", from_=alt.LookupData(data=shapes, key="id", fields=["geometry", "type"])
        )
        .encode(
            color=alt.Color(
                f"{value}:Q",
                title=value_title,
                scale=alt.Scale(scheme="blues"),
                legend=alt.Legend(format=MONEY_AXIS),
            ),
            tooltip=tooltip,
        )
        .project(type="mercator")
        .properties(height=520),
        language,
    )


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
            y=alt.Y(f"{category}:N", title=category_title, sort="-x", axis=alt.Axis(labelLimit=260)),
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
            y=alt.Y(f"{category}:N", title=category_title, sort=None, axis=alt.Axis(labelLimit=260)),
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
    colors: dict[str, str] | None = None,
    y_format: str = MONEY,
) -> alt.LayerChart:
    """Monthly series (columns: month as a date, value, series, segment, incomplete, label).

    Months are on a time axis, so a month without data is a gap in the line, never skipped; rows of one
    series sharing a `segment` are joined; a missing month is a gap, and an incomplete month is a hollow
    point not joined to the line. `colors` maps each series to its colour (in legend order)."""
    scale = alt.Scale() if colors is None else alt.Scale(domain=list(colors), range=list(colors.values()))
    base = alt.Chart(frame).encode(
        x=alt.X("month:T", title=x_title, timeUnit="yearmonth", axis=alt.Axis(format="%b %Y")),
        y=alt.Y("value:Q", title=y_title, axis=alt.Axis(format=MONEY_AXIS)),
        color=alt.Color("series:N", title=series_title, scale=scale, legend=alt.Legend(orient="bottom")),
        tooltip=[
            alt.Tooltip("label:N", title=x_title),
            alt.Tooltip("series:N", title=series_title),
            alt.Tooltip("value:Q", title=y_title, format=y_format),
            alt.Tooltip("state:N", title=incomplete_title),
        ],
    )
    line = base.transform_filter("!datum.incomplete").mark_line().encode(detail="segment:N")
    points = base.transform_filter("!datum.incomplete").mark_point(size=50, filled=True, opacity=1)
    hollow = base.transform_filter("datum.incomplete").mark_point(
        size=70, filled=False, strokeWidth=2, opacity=1
    )
    return localized(alt.layer(line, points, hollow), language)


def heatmap(
    frame: pd.DataFrame,
    x: str,
    y: str,
    value: str,
    titles: tuple[str, str, str],
    language: Language,
    scheme: Literal["orangered", "greens"] = "orangered",
    value_format: str = ",.1f",
    y_order: list[str] | None = None,
) -> alt.Chart:
    """A matrix of `value` by `x` and `y`; null values are left blank (not coloured)."""
    return localized(
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X(f"{x}:O", title=titles[0]),
            y=alt.Y(f"{y}:O", title=titles[1], sort=y_order if y_order is not None else "ascending"),
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
