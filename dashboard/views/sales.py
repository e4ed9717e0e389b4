"""Sales trend: monthly revenue in nominal BRL and in constant BRL (deflated by IPCA in the gold layer)."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, queries
from dashboard.page import PageContext, download, run_page, sidebar_filters


def render(ctx: PageContext) -> None:
    filters = sidebar_filters(ctx)
    monthly = ctx.reader.frame(queries.SALES_MONTHLY, filters.params())
    if monthly.empty:
        st.info(ctx.t("no_rows"))
        return
    nominal, constant = ctx.t("nominal_brl"), ctx.t("constant_brl")
    long = monthly.rename(columns={"nominal_brl": nominal, "constant_brl": constant}).melt(
        id_vars="month", value_vars=[nominal, constant], var_name="series", value_name="revenue"
    )
    st.altair_chart(
        charts.lines(long, "month", "revenue", "series", ctx.t("month"), ctx.t("revenue")),
        width="stretch",
    )
    base = ctx.reader.frame(queries.IPCA_BASE_MONTH)["base_month"].iloc[0]
    st.caption(ctx.t("sales_note", base=str(base)[:7]))
    table = monthly.rename(
        columns={
            "month": ctx.t("month"),
            "nominal_brl": nominal,
            "constant_brl": constant,
            "items": ctx.t("items"),
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    download(ctx, table, "sales_monthly")


run_page("page_sales", render, needs=("marts", "gold"))
