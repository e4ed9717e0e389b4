"""Categories: revenue, items and orders by product category, and the categories bought together more
often than chance."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, queries
from dashboard.category_names import category_name
from dashboard.page import PageContext, run_page, show_table, sidebar_filters


def render(ctx: PageContext) -> None:
    filters = sidebar_filters(ctx)
    sales = ctx.reader.frame(queries.CATEGORY_SALES, filters.params())
    if sales.empty:
        st.info(ctx.t("no_rows"))
        return
    sales["name"] = [category_name(key, ctx.language) for key in sales["category_name_en"]]
    st.subheader(ctx.t("top_categories"))
    st.altair_chart(
        charts.bars(sales.head(15), "name", "revenue", ctx.t("category"), ctx.t("revenue"), ctx.language),
        width="stretch",
    )
    show_table(
        ctx,
        sales,
        {
            "name": ("category", "text"),
            "revenue": ("revenue", "money"),
            "items": ("items", "int"),
            "orders": ("orders", "int"),
        },
        "categories",
    )
    if ctx.reader.available("gold"):
        st.subheader(ctx.t("cooccurrence"))
        pairs = ctx.reader.frame(
            queries.CATEGORY_COOCCURRENCE,
            {"category": filters.category, "min_orders": queries.MIN_PAIR_ORDERS},
        )
        st.caption(ctx.t("cooccurrence_note", min_orders=queries.MIN_PAIR_ORDERS))
        if pairs.empty:
            st.info(ctx.t("no_pairs"))
            return
        for column in ("category_a", "category_b"):
            pairs[column] = [category_name(key, ctx.language) for key in pairs[column]]
        show_table(
            ctx,
            pairs,
            {
                "category_a": ("category_a", "text"),
                "category_b": ("category_b", "text"),
                "orders_together": ("orders_together", "int"),
                "lift": ("lift", "dec2"),
            },
        )


run_page("page_categories", render)
