"""Geography: revenue, orders, customers and delivery by customer state and region."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import charts, queries
from dashboard.i18n import value_label
from dashboard.page import PageContext, run_page, show_table, sidebar_filters


def render(ctx: PageContext) -> None:
    filters = sidebar_filters(ctx)
    states = ctx.reader.frame(queries.STATE_SALES, filters.params())
    if not states["orders"].sum():
        st.info(ctx.t("no_rows"))
        return
    states["region"] = [value_label("region", r, ctx.language) for r in states["region"]]
    tooltip = [
        alt.Tooltip("state_code:N", title=ctx.t("state")),
        alt.Tooltip("state_name:N", title=ctx.t("state_name")),
        alt.Tooltip("region:N", title=ctx.t("region")),
        alt.Tooltip("revenue:Q", title=ctx.t("revenue"), format=charts.MONEY),
        alt.Tooltip("orders:Q", title=ctx.t("orders"), format=",d"),
        alt.Tooltip("late_share:Q", title=ctx.t("late_share"), format=charts.SHARE),
    ]
    grid, regions = st.columns([3, 2])
    with grid:
        st.subheader(ctx.t("state_grid"))
        st.altair_chart(
            charts.state_map(states, "revenue", ctx.t("revenue"), tooltip, ctx.language), width="stretch"
        )
    with regions:
        st.subheader(ctx.t("by_region"))
        by_region = states.groupby("region", as_index=False)[["revenue", "orders"]].sum()
        st.altair_chart(
            charts.bars(by_region, "region", "revenue", ctx.t("region"), ctx.t("revenue"), ctx.language),
            width="stretch",
        )
    show_table(
        ctx,
        states,
        {
            "state_code": ("state", "text"),
            "state_name": ("state_name", "text"),
            "region": ("region", "text"),
            "orders": ("orders", "int"),
            "revenue": ("revenue", "money"),
            "customers": ("customers", "int"),
            "delivery_days": ("delivery_days", "dec1"),
            "late_share": ("late_share", "percent"),
        },
        "states",
    )


run_page("page_geography", render)
