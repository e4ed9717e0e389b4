"""Sales trend: monthly revenue in nominal BRL and in constant BRL (deflated by IPCA in the gold layer)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, queries
from dashboard.formatting import month
from dashboard.page import PageContext, data_bounds, run_page, show_table, sidebar_filters
from dashboard.periods import complete_months, month_starts, monthly_series


def render(ctx: PageContext) -> None:
    filters = sidebar_filters(ctx)
    monthly = ctx.reader.frame(queries.SALES_MONTHLY, filters.params())
    if monthly.empty:
        st.info(ctx.t("no_rows"))
        return
    first_day, last_day = data_bounds(ctx)
    months = month_starts(filters.start, filters.end)
    complete = complete_months(
        filters.start, filters.end, first_day, last_day, ctx.reader.frame(queries.MONTHLY_ORDERS_ALL)
    )
    keyed = monthly.assign(month=[pd.Timestamp(m + "-01") for m in monthly["month"]])
    series = []
    for column in ("nominal_brl", "constant_brl"):
        frame = monthly_series(keyed, months, complete, column)
        frame["series"] = ctx.t(column)
        frame["segment"] = column + frame["segment"].astype(str)
        series.append(frame)
    long = pd.concat(series, ignore_index=True)
    long["label"] = [month(m, ctx.language) for m in long["month"]]
    long["state"] = [ctx.t("incomplete") if flag else ctx.t("complete") for flag in long["incomplete"]]
    st.altair_chart(
        charts.monthly_lines(
            long,
            y_title=ctx.t("revenue"),
            x_title=ctx.t("month"),
            series_title=ctx.t("series"),
            incomplete_title=ctx.t("month_state"),
            language=ctx.language,
            colors={ctx.t("nominal_brl"): "#1f5fa8", ctx.t("constant_brl"): "#e07b39"},
        ),
        width="stretch",
    )
    marked = [month(m, ctx.language) for m, ok in complete.items() if not ok]
    gaps = [month(m, ctx.language) for m in months if m.strftime("%Y-%m") not in set(monthly["month"])]
    st.caption(ctx.t("incomplete_note", months=", ".join(marked) or "—", gaps=", ".join(gaps) or "—"))
    base = ctx.reader.frame(queries.IPCA_BASE_MONTH)["base_month"].iloc[0]
    st.caption(ctx.t("sales_note", base=month(str(base)[:7], ctx.language)))
    show_table(
        ctx,
        monthly.assign(month=[month(m, ctx.language) for m in monthly["month"]]),
        {
            "month": ("month", "text"),
            "nominal_brl": ("nominal_brl", "money"),
            "constant_brl": ("constant_brl", "money"),
            "items": ("items", "int"),
        },
        "sales_monthly",
    )


run_page("page_sales", render, needs=("marts", "gold"))
