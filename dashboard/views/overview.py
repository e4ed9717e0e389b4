"""Overview: the headline KPIs of the chosen period, each compared with the previous period of equal
length; the monthly GMV against the previous period; the categories that moved most."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from dashboard import charts, queries
from dashboard.category_names import category_name
from dashboard.formatting import day, money, month, number, percent
from dashboard.i18n import Language
from dashboard.page import Filters, PageContext, data_bounds, download, run_page, show_table, sidebar_filters
from dashboard.periods import complete_months, month_starts, monthly_series

# The columns of queries.KPIS, in display order (three per row).
KPI_COLUMNS = ("gmv", "orders", "avg_ticket", "customers", "on_time_share", "avg_review")
TOP_MOVERS = 8


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
        "gmv": (ctx.t("gmv"), lambda v: money(v, lang)),
        "orders": (ctx.t("orders"), lambda v: number(v, lang)),
        "avg_ticket": (ctx.t("avg_ticket"), lambda v: money(v, lang)),
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
    st.caption(ctx.t(compared, start=day(before.start, lang), end=day(before.end, lang)))
    st.caption(ctx.t("gmv_note"))
    table = pd.DataFrame(
        {
            ctx.t("metric"): [shown[c][0] for c in KPI_COLUMNS],
            ctx.t("current"): [now[c] for c in KPI_COLUMNS],
            ctx.t("previous"): [then[c] for c in KPI_COLUMNS],
        }
    )
    download(ctx, table, "overview")
    _trend(ctx, filters, before)


def _trend(ctx: PageContext, filters: Filters, before: Filters) -> None:
    """Monthly GMV of the period and of the previous one (aligned month by month), incomplete months
    marked; then the categories whose GMV changed most between the complete months of both."""
    lang = ctx.language
    first_day, last_day = data_bounds(ctx)
    history = ctx.reader.frame(queries.MONTHLY_ORDERS_ALL)
    months_now = month_starts(filters.start, filters.end)
    months_then = month_starts(before.start, before.end)[-len(months_now) :]
    complete_now = complete_months(filters.start, filters.end, first_day, last_day, history)
    complete_then = complete_months(before.start, before.end, first_day, last_day, history)
    current = monthly_series(
        ctx.reader.frame(queries.MONTHLY_GMV, filters.params()), months_now, complete_now, "gmv"
    )
    previous = monthly_series(
        ctx.reader.frame(queries.MONTHLY_GMV, before.params()), months_then, complete_then, "gmv"
    )
    # The previous period is drawn on the current period's months (same position), labelled with its own.
    previous["label"] = [month(m, lang) for m in previous["month"]]
    previous["month"] = current["month"].iloc[-len(previous) :].to_numpy() if len(previous) else []
    current["label"] = [month(m, lang) for m in current["month"]]
    current["series"], previous["series"] = ctx.t("this_period"), ctx.t("previous_period")
    frame = pd.concat([current, previous], ignore_index=True)
    frame["segment"] = frame["series"] + frame["segment"].astype(str)
    frame["state"] = [ctx.t("incomplete") if flag else ctx.t("complete") for flag in frame["incomplete"]]
    st.subheader(ctx.t("gmv_trend"))
    st.altair_chart(
        charts.monthly_lines(
            frame,
            y_title=ctx.t("gmv"),
            x_title=ctx.t("month"),
            series_title=ctx.t("series"),
            incomplete_title=ctx.t("month_state"),
            language=lang,
            colors={ctx.t("this_period"): "#1f5fa8", ctx.t("previous_period"): "#a0a7b4"},
        ),
        width="stretch",
    )
    marked = [month(m, lang) for m, ok in complete_now.items() if not ok]
    gaps = [month(m, lang) for m in current.loc[current["value"].isna(), "month"]]
    st.caption(ctx.t("incomplete_note", months=", ".join(marked) or "—", gaps=", ".join(gaps) or "—"))
    _movers(ctx, filters, complete_now)


def _movers(ctx: PageContext, filters: Filters, complete: dict[date, bool]) -> None:
    """Categories by GMV change over the complete months of the period against as many months just
    before them."""
    full = [m for m, ok in complete.items() if ok]
    st.subheader(ctx.t("top_movers"))
    if not full:
        st.info(ctx.t("no_complete_months"))
        return
    start = full[0]
    end = (pd.Timestamp(full[-1]) + pd.offsets.MonthEnd(0)).date()
    window = Filters(start, end, filters.state, filters.category)
    length = end - start + timedelta(days=1)
    prior = Filters(start - length, start - timedelta(days=1), filters.state, filters.category)
    now = ctx.reader.frame(queries.CATEGORY_SALES, window.params()).set_index("category_name_en")["revenue"]
    then = ctx.reader.frame(queries.CATEGORY_SALES, prior.params()).set_index("category_name_en")["revenue"]
    change = pd.DataFrame({"now": now, "then": then}).fillna(0.0)
    change["change"] = change["now"] - change["then"]
    change["share"] = (change["change"] / change["then"].where(change["then"] > 0)).astype("float64")
    change = change.reindex(change["change"].abs().sort_values(ascending=False).index).head(TOP_MOVERS)
    change = change.reset_index(names="category")
    change["name"] = [category_name(c, ctx.language) for c in change["category"]]
    st.caption(
        ctx.t(
            "movers_note",
            start=day(start, ctx.language),
            end=day(end, ctx.language),
            prior_start=day(prior.start, ctx.language),
            prior_end=day(prior.end, ctx.language),
        )
    )
    st.altair_chart(
        charts.diverging_bars(change, "name", "change", ctx.t("category"), ctx.t("gmv_change"), ctx.language),
        width="stretch",
    )
    show_table(
        ctx,
        change,
        {
            "name": ("category", "text"),
            "now": ("this_period", "money"),
            "then": ("previous_period", "money"),
            "change": ("gmv_change", "money"),
            "share": ("change_share", "percent"),
        },
    )


def _delta(now: float | None, then: float | None, language: Language) -> str | None:
    """Relative change to the previous period, or None when there is nothing to compare with."""
    if now is None or not then:
        return None
    return percent((now - then) / then, language)


run_page("page_overview", render)
