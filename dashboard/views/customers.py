"""Customers: retention by first-purchase cohort and RFM segments, as aggregates only (no customer token
is ever shown)."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, queries
from dashboard.page import PageContext, download, run_page, sidebar_filters


def render(ctx: PageContext) -> None:
    filters = sidebar_filters(ctx, state=False, category=False)
    cohorts = ctx.reader.frame(queries.COHORTS, filters.month_params())
    st.subheader(ctx.t("cohorts"))
    if cohorts.empty:
        st.info(ctx.t("no_rows"))
    else:
        st.altair_chart(
            charts.heatmap(
                cohorts,
                "months_since_first",
                "cohort_month",
                "retention_rate",
                (ctx.t("months_since_first"), ctx.t("cohort_month"), ctx.t("retention")),
                scheme="greens",
            ),
            width="stretch",
        )
    st.subheader(ctx.t("rfm_segments"))
    st.caption(ctx.t("rfm_note"))
    segments = ctx.reader.frame(queries.RFM_SEGMENTS)
    table = segments.rename(
        columns={
            "segment": ctx.t("segment"),
            "customers": ctx.t("customers"),
            "recency_days": ctx.t("recency_days"),
            "frequency": ctx.t("frequency"),
            "monetary": ctx.t("monetary"),
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            ctx.t("recency_days"): st.column_config.NumberColumn(format="%.0f"),
            ctx.t("frequency"): st.column_config.NumberColumn(format="%.2f"),
            ctx.t("monetary"): st.column_config.NumberColumn(format="%.2f"),
        },
    )
    download(ctx, table, "rfm_segments")


run_page("page_customers", render, needs=("marts", "gold"))
