"""Overview: the headline KPIs of the chosen period, each compared with the previous period of equal
length."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import queries
from dashboard.i18n import Language, brl, number, percent
from dashboard.page import PageContext, download, run_page, sidebar_filters

# The columns of queries.KPIS, in display order (three per row).
KPI_COLUMNS = ("gmv", "orders", "avg_ticket", "customers", "on_time_share", "avg_review")


def kpi_values(frame: pd.DataFrame) -> dict[str, float | None]:
    """The single row of queries.KPIS as floats (None when the period has no data)."""
    row = frame.iloc[0]
    return {column: None if pd.isna(row[column]) else float(row[column]) for column in KPI_COLUMNS}


def render(ctx: PageContext) -> None:
    filters = sidebar_filters(ctx)
    before = filters.previous()
    now = kpi_values(ctx.reader.frame(queries.KPIS, filters.params()))
    then = kpi_values(ctx.reader.frame(queries.KPIS, before.params()))
    if not now["orders"]:
        st.info(ctx.t("no_rows"))
        return
    lang = ctx.language
    shown = {
        "gmv": (ctx.t("gmv"), lambda v: brl(v, lang)),
        "orders": (ctx.t("orders"), lambda v: number(v, lang)),
        "avg_ticket": (ctx.t("avg_ticket"), lambda v: brl(v, lang)),
        "customers": (ctx.t("customers"), lambda v: number(v, lang)),
        "on_time_share": (ctx.t("on_time"), lambda v: percent(v, lang)),
        "avg_review": (ctx.t("avg_review"), lambda v: number(v, lang, 2)),
    }
    columns = st.columns(3)
    for position, column in enumerate(KPI_COLUMNS):
        title, fmt = shown[column]
        with columns[position % 3]:
            st.metric(title, fmt(now[column]), delta=_delta(now[column], then[column], lang), border=True)
    compared = "comparison" if then["orders"] else "no_previous"
    st.caption(ctx.t(compared, start=before.start.isoformat(), end=before.end.isoformat()))
    st.caption(ctx.t("gmv_note"))
    table = pd.DataFrame(
        {
            ctx.t("metric"): [shown[c][0] for c in KPI_COLUMNS],
            ctx.t("current"): [now[c] for c in KPI_COLUMNS],
            ctx.t("previous"): [then[c] for c in KPI_COLUMNS],
        }
    )
    download(ctx, table, "overview")


def _delta(now: float | None, then: float | None, language: Language) -> str | None:
    """Relative change to the previous period, or None when there is nothing to compare with."""
    if now is None or not then:
        return None
    return percent((now - then) / then, language)


run_page("page_overview", render)
