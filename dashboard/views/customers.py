"""Customers: retention by first-purchase cohort and RFM segments, as aggregates only (no customer token
is ever shown)."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, queries
from dashboard.formatting import month
from dashboard.i18n import value_label
from dashboard.page import PageContext, run_page, show_table, sidebar_filters


def render(ctx: PageContext) -> None:
    filters = sidebar_filters(ctx, state=False, category=False)
    cohorts = ctx.reader.frame(queries.COHORTS, filters.month_params())
    st.subheader(ctx.t("cohorts"))
    if cohorts.empty:
        st.info(ctx.t("no_rows"))
    else:
        # Month 0 is every cohort's first purchase (retention 1.0): colouring it would flatten the scale,
        # so the heatmap starts at month 1.
        later = cohorts[cohorts["months_since_first"] >= 1].assign(
            cohort=lambda f: [month(m, ctx.language) for m in f["cohort_month"]]
        )
        st.caption(ctx.t("cohorts_note"))
        st.altair_chart(
            charts.heatmap(
                later,
                "months_since_first",
                "cohort",
                "retention_rate",
                (ctx.t("months_since_first"), ctx.t("cohort_month"), ctx.t("retention")),
                ctx.language,
                scheme="greens",
                value_format=".1%",
                y_order=[month(m, ctx.language) for m in sorted(set(later["cohort_month"]))],
            ),
            width="stretch",
        )
    st.subheader(ctx.t("rfm_segments"))
    st.caption(ctx.t("rfm_note"))
    segments = ctx.reader.frame(queries.RFM_SEGMENTS)
    segments["segment"] = [value_label("segment", s, ctx.language) for s in segments["segment"]]
    show_table(
        ctx,
        segments,
        {
            "segment": ("segment", "text"),
            "customers": ("customers", "int"),
            "recency_days": ("recency_days", "int"),
            "frequency": ("frequency", "dec2"),
            "monetary": ("monetary", "money"),
        },
        "rfm_segments",
    )


run_page("page_customers", render, needs=("marts", "gold"))
