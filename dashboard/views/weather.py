"""Current weather by state capital: the latest observation of each, from `marts.fct_weather_current`.

A published file from before that mart existed lacks it; the page then says to run the pipeline again
instead of reaching into the pipeline's own schemas.
"""

from __future__ import annotations

import streamlit as st

from dashboard import queries
from dashboard.i18n import value_label
from dashboard.page import PageContext, run_page, show_table, sidebar_filters


def render(ctx: PageContext) -> None:
    if not ctx.reader.has_table("marts", queries.WEATHER_TABLE):
        st.info(ctx.t("weather_missing"), icon=":material/cloud_off:")
        return
    filters = sidebar_filters(ctx, period=False, category=False)
    weather = ctx.reader.frame(queries.WEATHER_CURRENT, {"state": filters.state})
    if weather.empty:
        st.info(ctx.t("no_rows"))
        return
    weather["conditions"] = [value_label("weather", w, ctx.language) for w in weather["weather_main"]]
    weather["origin"] = [value_label("origin", o, ctx.language) for o in weather["origin"]]
    columns: dict = {
        "state_code": ("state", "text"),
        "city": ("city", "text"),
        "observed_at": ("observed_at", "stamp"),
        "temp_c": ("temperature", "dec1"),
        "feels_like_c": ("feels_like", "dec1"),
        "humidity_pct": ("humidity", "int"),
        "conditions": ("conditions", "text"),
    }
    if ctx.language == "pt":  # OpenWeather describes in Portuguese (lang=pt_br): shown only there
        columns["weather_description"] = ("description", "text")
    columns["origin"] = ("origin", "text")
    show_table(ctx, weather, columns, "weather")


run_page("page_weather", render)
