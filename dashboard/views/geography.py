"""Geography: revenue, orders, customers and delivery by customer state and region, drawn as a tile grid
of the states (no map tiles from the internet)."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, queries
from dashboard.page import PageContext, download, run_page, sidebar_filters


def render(ctx: PageContext) -> None:
    filters = sidebar_filters(ctx)
    states = ctx.reader.frame(queries.STATE_SALES, filters.params())
    if not states["orders"].sum():
        st.info(ctx.t("no_rows"))
        return
    table = states.rename(
        columns={
            "state_code": ctx.t("state"),
            "state_name": ctx.t("state_name"),
            "region": ctx.t("region"),
            "orders": ctx.t("orders"),
            "revenue": ctx.t("revenue"),
            "customers": ctx.t("customers"),
            "delivery_days": ctx.t("delivery_days"),
            "late_share": ctx.t("late_share"),
        }
    )
    grid, regions = st.columns([3, 2])
    with grid:
        st.subheader(ctx.t("state_grid"))
        st.altair_chart(
            charts.state_grid(
                states,
                "revenue",
                ctx.t("revenue"),
                ["state_code", "state_name", "region", "revenue", "orders"],
            )
        )
    with regions:
        st.subheader(ctx.t("by_region"))
        by_region = states.groupby("region", as_index=False)[["revenue", "orders"]].sum()
        st.altair_chart(
            charts.bars(by_region, "region", "revenue", ctx.t("region"), ctx.t("revenue")), width="stretch"
        )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            ctx.t("revenue"): st.column_config.NumberColumn(format="%.2f"),
            ctx.t("delivery_days"): st.column_config.NumberColumn(format="%.1f"),
            ctx.t("late_share"): st.column_config.NumberColumn(format="percent"),
        },
    )
    download(ctx, table, "states")


run_page("page_geography", render)
