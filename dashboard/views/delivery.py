"""Delivery performance by route (seller state -> customer state): median and p90 days, late share."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, queries
from dashboard.page import PageContext, run_page, show_table, sidebar_filters

# Routes with fewer shipments are left out of the colours (a median of two parcels is noise that would set
# the colour scale); the table below keeps every route.
MIN_ROUTE_SHIPMENTS = 20


def render(ctx: PageContext) -> None:
    filters = sidebar_filters(ctx, period=False, category=False)
    routes = ctx.reader.frame(queries.DELIVERY_ROUTES, {"state": filters.state})
    if routes.empty:
        st.info(ctx.t("no_rows"))
        return
    st.caption(ctx.t("delivery_note"))
    st.subheader(ctx.t("routes_heatmap"))
    st.caption(ctx.t("routes_heatmap_note", shipments=MIN_ROUTE_SHIPMENTS))
    busy = routes.assign(
        median_days=routes["median_days"].where(routes["shipments"] >= MIN_ROUTE_SHIPMENTS)
    ).dropna(subset=["median_days"])
    st.altair_chart(
        charts.heatmap(
            busy,
            "customer_state",
            "seller_state",
            "median_days",
            (ctx.t("customer_state"), ctx.t("seller_state"), ctx.t("median_days")),
            ctx.language,
            value_format=",.0f",
        ),
        width="stretch",
    )
    show_table(
        ctx,
        routes,
        {
            "seller_state": ("seller_state", "text"),
            "customer_state": ("customer_state", "text"),
            "shipments": ("shipments", "int"),
            "median_days": ("median_days", "dec1"),
            "mean_days": ("mean_days", "dec1"),
            "p90_days": ("p90_days", "dec1"),
            "late_share": ("late_share", "percent"),
        },
        "delivery_routes",
    )


run_page("page_delivery", render, needs=("marts", "gold"))
