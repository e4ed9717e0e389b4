"""Current weather by state capital: the latest observation of each, from `marts.fct_weather_current`.

A published file from before that mart existed lacks it; the page then says to run the pipeline again
instead of reaching into the pipeline's own schemas.
"""

from __future__ import annotations

import streamlit as st

from dashboard import queries
from dashboard.page import PageContext, download, run_page, sidebar_filters


def render(ctx: PageContext) -> None:
    if not ctx.reader.has_table("marts", queries.WEATHER_TABLE):
        st.info(ctx.t("weather_missing"), icon=":material/cloud_off:")
        return
    filters = sidebar_filters(ctx, period=False, category=False)
    weather = ctx.reader.frame(queries.WEATHER_CURRENT, {"state": filters.state})
    if weather.empty:
        st.info(ctx.t("no_rows"))
        return
    table = weather.rename(
        columns={
            "state_code": ctx.t("state"),
            "city": ctx.t("city"),
            "observed_at": ctx.t("observed_at"),
            "temp_c": ctx.t("temperature"),
            "feels_like_c": ctx.t("feels_like"),
            "humidity_pct": ctx.t("humidity"),
            "weather_description": ctx.t("conditions"),
            "origin": ctx.t("origin"),
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    download(ctx, table, "weather")


run_page("page_weather", render)
