"""Numbers, money, shares and dates as each language writes them, through Babel (CLDR data), never by hand.

- Portuguese (pt_BR): `R$ 1.234,56`, `12,3 %`, `1.234`, `05/01/2018`, months `01/2018`.
- English: `R$1,234.56`, `12.3%`, `1,234`, `Jan 5, 2018`, months `Jan 2018`.
- A missing value is always "—", never "None" or "nan".

Tables are shown as these strings (right-aligned, see `table_config`), so a table reads exactly like the
cards above it; charts get the same symbols through Vega's locale (`vega_locale`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Literal

import pandas as pd
from babel.dates import format_date, format_datetime
from babel.numbers import (
    format_currency,
    format_decimal,
    format_percent,
    get_decimal_symbol,
    get_group_symbol,
)

from dashboard.i18n import Language

MISSING = "—"
LOCALES: dict[Language, str] = {"pt": "pt_BR", "en": "en"}
_PERCENT = {"pt": "#,##0.0\u00a0%", "en": "#,##0.0%"}
_DAY = {"pt": "dd/MM/yyyy", "en": "MMM d, yyyy"}
_MONTH = {"pt": "MM/yyyy", "en": "MMM yyyy"}
_STAMP = {"pt": "dd/MM/yyyy HH:mm", "en": "MMM d, yyyy HH:mm"}

Kind = Literal["money", "int", "dec1", "dec2", "percent", "percent2", "day", "month", "stamp", "text"]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def money(value: Any, language: Language) -> str:
    """Reais: `R$ 1.234,56` / `R$1,234.56`."""
    return MISSING if _missing(value) else format_currency(float(value), "BRL", locale=LOCALES[language])


def number(value: Any, language: Language, decimals: int = 0) -> str:
    """A grouped number with exactly `decimals` decimals: `1.234,5` / `1,234.5`."""
    if _missing(value):
        return MISSING
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(float(value), format=pattern, locale=LOCALES[language])


def percent(value: Any, language: Language, decimals: int = 1) -> str:
    """A share 0..1 as a percentage, one decimal by default: `12,3 %` / `12.3%`."""
    if _missing(value):
        return MISSING
    pattern = _PERCENT[language].replace("0.0", "0." + "0" * decimals)
    return format_percent(float(value), format=pattern, locale=LOCALES[language])


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, str):
        value = pd.Timestamp(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)


def day(value: Any, language: Language) -> str:
    """A date: `05/01/2018` / `Jan 5, 2018`."""
    return (
        MISSING
        if _missing(value)
        else format_date(_as_datetime(value).date(), _DAY[language], LOCALES[language])
    )


def month(value: Any, language: Language) -> str:
    """A month ('2018-01', a date or a timestamp): `01/2018` / `Jan 2018`."""
    if _missing(value):
        return MISSING
    if isinstance(value, str) and len(value) == 7:
        value = value + "-01"
    return format_date(_as_datetime(value).date(), _MONTH[language], LOCALES[language])


def stamp(value: Any, language: Language) -> str:
    """A date and time to the minute: `05/01/2018 14:03` / `Jan 5, 2018 14:03`."""
    if _missing(value):
        return MISSING
    return format_datetime(_as_datetime(value), _STAMP[language], locale=LOCALES[language])


def text(value: Any, language: Language) -> str:
    return MISSING if _missing(value) or value == "" else str(value)


FORMATTERS: dict[Kind, Callable[[Any, Language], str]] = {
    "money": money,
    "int": lambda v, lang: number(v, lang, 0),
    "dec1": lambda v, lang: number(v, lang, 1),
    "dec2": lambda v, lang: number(v, lang, 2),
    "percent": percent,
    "percent2": lambda v, lang: percent(v, lang, 2),
    "day": day,
    "month": month,
    "stamp": stamp,
    "text": text,
}
NUMERIC: frozenset[Kind] = frozenset({"money", "int", "dec1", "dec2", "percent", "percent2"})


def formatted(frame: pd.DataFrame, kinds: Mapping[str, Kind], language: Language) -> pd.DataFrame:
    """The columns of `kinds`, in that order, each as display text of the language."""
    return pd.DataFrame(
        {
            column: [FORMATTERS[kind](value, language) for value in frame[column].tolist()]
            for column, kind in kinds.items()
        },
        index=frame.index,
    )


def table_config(kinds: Mapping[str, Kind], labels: Mapping[str, str]) -> dict[str, Any]:
    """Streamlit column configuration: the translated header of each column (the data keeps its stable
    column names), numbers right-aligned."""
    import streamlit as st

    return {
        column: st.column_config.TextColumn(labels[column], alignment="right" if kind in NUMERIC else "left")
        for column, kind in kinds.items()
    }


def vega_locale(language: Language) -> dict[str, Any]:
    """Vega's number and time locale for chart axes and tooltips, from the same CLDR data as the text."""
    loc = LOCALES[language]
    months_pt = ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
                 "outubro", "novembro", "dezembro"]  # fmt: skip
    months_en = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                 "October", "November", "December"]  # fmt: skip
    months = months_pt if language == "pt" else months_en
    short = [format_date(date(2001, m, 1), "MMM", locale=loc).rstrip(".") for m in range(1, 13)]
    days_pt = ["domingo", "segunda", "terça", "quarta", "quinta", "sexta", "sábado"]
    days_en = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    days = days_pt if language == "pt" else days_en
    return {
        "number": {
            "decimal": get_decimal_symbol(loc),
            "thousands": get_group_symbol(loc),
            "grouping": [3],
            "currency": ["R$\u00a0", ""] if language == "pt" else ["R$", ""],
            "percent": "\u00a0%" if language == "pt" else "%",
        },
        "time": {
            "dateTime": "%x %X" if language == "en" else "%d/%m/%Y %H:%M:%S",
            "date": "%m/%d/%Y" if language == "en" else "%d/%m/%Y",
            "time": "%H:%M:%S",
            "periods": ["AM", "PM"],
            "days": days,
            "shortDays": [d[:3] for d in days],
            "months": months,
            "shortMonths": short,
        },
    }
