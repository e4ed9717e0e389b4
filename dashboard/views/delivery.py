"""Delivery performance by route (seller state -> customer state): median and p90 days, late share."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, queries
from dashboard.page import PageContext, download, run_page, sidebar_filters


def render(ctx: PageContext) -> None:
    filters = sidebar_filters(ctx, period=False, category=False)
    routes = ctx.reader.frame(queries.DELIVERY_ROUTES, {"state": filters.state})
    if routes.empty:
        st.info(ctx.t("no_rows"))
        return
    st.caption(ctx.t("delivery_note"))
    st.subheader(ctx.t("routes_heatmap"))
    st.altair_chart(
        charts.heatmap(
            routes,
            "customer_state",
            "seller_state",
            "median_days",
            (ctx.t("customer_state"), ctx.t("seller_state"), ctx.t("median_days")),
        ),
        width="stretch",
    )
    table = routes.rename(
        columns={
            "seller_state": ctx.t("seller_state"),
            "customer_state": ctx.t("customer_state"),
            "shipments": ctx.t("shipments"),
            "median_days": ctx.t("median_days"),
            "p90_days": ctx.t("p90_days"),
            "late_share": ctx.t("late_share"),
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            ctx.t("median_days"): st.column_config.NumberColumn(format="%.1f"),
            ctx.t("p90_days"): st.column_config.NumberColumn(format="%.1f"),
            ctx.t("late_share"): st.column_config.NumberColumn(format="percent"),
        },
    )
    download(ctx, table, "delivery_routes")


run_page("page_delivery", render, needs=("marts", "gold"))
