"""Months of a period: which are complete enough to compare, and where the gaps are.

A month is *incomplete* when the period or the data covers only part of it (the first and last months of
the history, a period that starts or ends mid-month), or when it holds far fewer orders than a normal month
(under a tenth of the median month of the whole history: the tail of the real data, 2018-09 and 2018-10,
has a handful of orders). Incomplete months are shown, marked, and left out of every comparison. A month
with no order at all is a gap: it keeps its place on the axis with no value.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

LOW_VOLUME_SHARE = 0.1
"""A month with fewer orders than this share of the median month of the history is incomplete."""


def month_starts(start: date, end: date) -> list[date]:
    """The first day of every month touched by [start, end]."""
    first = date(start.year, start.month, 1)
    return [d.date() for d in pd.date_range(first, end, freq="MS")]


def _month_end(month: date) -> date:
    return (pd.Timestamp(month) + pd.offsets.MonthEnd(0)).date()


def complete_months(
    start: date, end: date, first_day: date, last_day: date, history: pd.DataFrame
) -> dict[date, bool]:
    """For every month of [start, end]: True when it can be compared (see the module's rule).
    `history` is queries.MONTHLY_ORDERS_ALL (month, orders) over the whole data."""
    # Orders whose date the privacy policy did not publish (time_grain 'none') belong to no month.
    counts = {
        _as_date(m): int(n)
        for m, n in zip(history["month"], history["orders"], strict=True)
        if m is not None and not pd.isna(m)
    }
    threshold = LOW_VOLUME_SHARE * float(pd.Series(list(counts.values()) or [0]).median())
    covered_from, covered_to = max(start, first_day), min(end, last_day)
    result = {}
    for month in month_starts(start, end):
        whole = covered_from <= month and _month_end(month) <= covered_to
        result[month] = whole and counts.get(month, 0) >= threshold
    return result


def monthly_series(
    monthly: pd.DataFrame, months: list[date], complete: dict[date, bool], value: str
) -> pd.DataFrame:
    """One row per month of `months` (month, value, incomplete, segment): months absent from `monthly`
    get a null value, and they and incomplete months start a new line segment, so the chart shows a gap
    instead of joining across it (and never draws a drop into a month that is only partly there)."""
    values = {
        _as_date(m): v
        for m, v in zip(monthly["month"], monthly[value], strict=True)
        if m is not None and not pd.isna(m)
    }
    rows, segment = [], 0
    for month in months:
        found = values.get(month)
        if found is None or not complete.get(month, False):
            segment += 1
        rows.append(
            {
                "month": pd.Timestamp(month),
                "value": None if found is None else float(found),
                "incomplete": not complete.get(month, False),
                "segment": segment,
            }
        )
    return pd.DataFrame(rows)


def _as_date(value: object) -> date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(str(value)).date()
