"""Seller scorecards: revenue, orders, on-time rate, reviews and cancellations per seller over the period."""

from __future__ import annotations

import streamlit as st

from dashboard import queries
from dashboard.page import PageContext, run_page, show_table, sidebar_filters


def render(ctx: PageContext) -> None:
    filters = sidebar_filters(ctx, category=False)
    sellers = ctx.reader.frame(queries.SELLER_SCORECARD, filters.month_params())
    if sellers.empty:
        st.info(ctx.t("no_rows"))
        return
    st.caption(ctx.t("sellers_note"))
    show_table(
        ctx,
        sellers,
        {
            "seller_id": ("seller", "text"),
            "seller_state": ("state", "text"),
            "revenue": ("revenue", "money"),
            "orders": ("orders", "int"),
            "items": ("items", "int"),
            "on_time_rate": ("on_time_rate", "percent"),
            "avg_review": ("avg_review", "dec2"),
            "cancellation_rate": ("cancellation_rate", "percent"),
            "best_rank": ("best_rank", "int"),
            "months": ("months", "int"),
        },
        "sellers",
    )


run_page("page_sellers", render, needs=("marts", "gold"))
