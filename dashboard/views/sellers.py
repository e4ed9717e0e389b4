"""Seller scorecards: revenue, orders, on-time rate, reviews and cancellations per seller over the period."""

from __future__ import annotations

import streamlit as st

from dashboard import queries
from dashboard.page import PageContext, download, run_page, sidebar_filters


def render(ctx: PageContext) -> None:
    filters = sidebar_filters(ctx, category=False)
    sellers = ctx.reader.frame(queries.SELLER_SCORECARD, filters.month_params())
    if sellers.empty:
        st.info(ctx.t("no_rows"))
        return
    st.caption(ctx.t("sellers_note"))
    table = sellers.rename(
        columns={
            "seller_id": ctx.t("seller"),
            "seller_state": ctx.t("state"),
            "revenue": ctx.t("revenue"),
            "orders": ctx.t("orders"),
            "items": ctx.t("items"),
            "on_time_rate": ctx.t("on_time_rate"),
            "avg_review": ctx.t("avg_review"),
            "cancellation_rate": ctx.t("cancellation_rate"),
            "best_rank": ctx.t("best_rank"),
            "months": ctx.t("months"),
        }
    )
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            ctx.t("on_time_rate"): percent,
            ctx.t("cancellation_rate"): percent,
            ctx.t("avg_review"): st.column_config.NumberColumn(format="%.2f"),
            ctx.t("revenue"): st.column_config.NumberColumn(format="%.2f"),
        },
    )
    download(ctx, table, "sellers")


run_page("page_sellers", render, needs=("marts", "gold"))
