"""Categories: revenue, items and orders by product category, and the categories bought together."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, queries
from dashboard.page import PageContext, download, run_page, sidebar_filters


def render(ctx: PageContext) -> None:
    filters = sidebar_filters(ctx)
    sales = ctx.reader.frame(queries.CATEGORY_SALES, filters.params())
    if sales.empty:
        st.info(ctx.t("no_rows"))
        return
    name = "category_name_pt" if ctx.language == "pt" else "category_name_en"
    table = sales[[name, "revenue", "items", "orders"]].rename(
        columns={
            name: ctx.t("category"),
            "revenue": ctx.t("revenue"),
            "items": ctx.t("items"),
            "orders": ctx.t("orders"),
        }
    )
    st.subheader(ctx.t("top_categories"))
    st.altair_chart(
        charts.bars(table.head(15), ctx.t("category"), ctx.t("revenue"), ctx.t("category"), ctx.t("revenue")),
        width="stretch",
    )
    st.dataframe(table, hide_index=True, width="stretch")
    download(ctx, table, "categories")
    if ctx.reader.available("gold"):
        st.subheader(ctx.t("cooccurrence"))
        pairs = ctx.reader.frame(queries.CATEGORY_COOCCURRENCE, {"category": filters.category})
        st.dataframe(
            pairs.rename(
                columns={
                    "category_a": ctx.t("category_a"),
                    "category_b": ctx.t("category_b"),
                    "orders_together": ctx.t("orders_together"),
                    "lift": ctx.t("lift"),
                }
            ),
            hide_index=True,
            width="stretch",
        )


run_page("page_categories", render)
