"""What every page shares: its context (settings, reader, language), the error boundary, the sidebar
filters and the CSV download of its main table.

A page script is `run_page(TITLE_KEY, render, needs=(...))`. The boundary shows the page title, an empty
state when the data the page needs is not published yet, and a short message instead of a stack trace when
anything fails (the details go to the log, i.e. the terminal of `cofre dashboard`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import queries
from dashboard.category_names import category_name
from dashboard.data import Reader, Schema
from dashboard.formatting import Kind, formatted, table_config
from dashboard.i18n import Language, label
from orchestration.settings import Settings

log = logging.getLogger("cofre.dashboard")

SETTINGS_KEY = "cofre_settings"
LANGUAGE_KEY = "cofre_language"
FILTERS = ("period", "state", "category")
DEFAULT_PERIOD = timedelta(days=365)
"""The period a first visit shows, ending at the newest order."""
WHOLE_TABLE_ROWS = 31
"""Tables up to this many rows (the 27 states, a year of months, the last 30 runs) are shown whole; longer
ones scroll."""
_DATE_FORMAT = {"pt": "DD/MM/YYYY", "en": "MM/DD/YYYY"}


def filter_key(name: str, language: Language) -> str:
    """The widget key of a sidebar filter in one language.

    The choice itself lives under a stable key (`choice_key`) as a stable value (a state code, an English
    category key, dates), never a shown label, so it follows the user from page to page and across a
    language switch. Each language draws its own widget (the browser keeps a widget's shown text while its
    key lives, so a widget shared by both languages would keep showing the other language's label); the
    widget starts from the stored choice and writes every change back to it."""
    return f"filter_{name}_{language}"


ALL = "*"
"""The option "all" of the state and category filters (None would read as "nothing chosen yet")."""


def choice_key(name: str) -> str:
    return f"cofre_choice_{name}"


def _remember(name: str, key: str) -> None:
    st.session_state[choice_key(name)] = st.session_state[key]


def _widget_key(name: str, language: Language, choice: Any) -> str:
    """The filter's widget key for `language`, holding the stored `choice` before the widget is drawn."""
    key = filter_key(name, language)
    st.session_state[choice_key(name)] = choice
    st.session_state[key] = choice  # always: the browser shows what session state says
    return key


@dataclass(frozen=True)
class PageContext:
    """What a page needs: the settings read by app.py, a reader of the published data, the language."""

    settings: Settings
    reader: Reader
    language: Language

    def t(self, key: str, **values: object) -> str:
        return label(key, self.language, **values)


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices; None means "all"."""

    start: date
    end: date
    state: str | None = None
    category: str | None = None

    def params(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "state": self.state, "category": self.category}

    def month_params(self) -> dict[str, Any]:
        """The period as 'YYYY-MM' bounds, for gold tables kept by month."""
        return {
            "start_month": self.start.strftime("%Y-%m"),
            "end_month": self.end.strftime("%Y-%m"),
            "state": self.state,
        }

    def previous(self) -> Filters:
        """The period of equal length just before this one, same state and category."""
        length = self.end - self.start + timedelta(days=1)
        return Filters(self.start - length, self.start - timedelta(days=1), self.state, self.category)


def current_context() -> PageContext:
    """The context app.py stored for this run (settings are read once per run, at the app's edge)."""
    settings: Settings = st.session_state[SETTINGS_KEY]
    return PageContext(settings, Reader(settings), st.session_state.get(LANGUAGE_KEY, "pt"))


def run_page(
    title_key: str, render: Callable[[PageContext], None], *, needs: Sequence[Schema] = ("marts",)
) -> None:
    """Render one page inside the error boundary: title, empty state, or the page itself."""
    ctx = current_context()
    st.title(ctx.t(title_key))
    try:
        missing = [schema for schema in needs if not ctx.reader.available(schema)]
        if missing:
            st.info(ctx.t("no_runs" if missing == ["ops"] else "no_marts"), icon=":material/info:")
            return
        render(ctx)
    except Exception as error:  # the page boundary: users get a short message, the log gets the details
        log.exception("dashboard page %s failed", title_key)
        st.error(ctx.t("page_error", kind=type(error).__name__), icon=":material/error:")


def data_bounds(ctx: PageContext) -> tuple[Any, Any]:
    """The first and last purchase dates of the published orders (None, None when there is none)."""
    bounds = ctx.reader.frame(queries.DATE_BOUNDS).iloc[0]
    return _as_date(bounds["first_day"]), _as_date(bounds["last_day"])


def sidebar_filters(
    ctx: PageContext, *, period: bool = True, state: bool = True, category: bool = True
) -> Filters:
    """Draw the filters this page uses in the sidebar and return the choices."""
    first, last = data_bounds(ctx)
    start, end = first, last
    lang = ctx.language
    st.sidebar.header(ctx.t("filters"))
    if period and first is not None and last is not None:
        kept = st.session_state.get(choice_key("period"))
        if not (isinstance(kept, tuple | list) and kept and all(first <= day <= last for day in kept)):
            # First visit, or a publish moved the bounds: the last 12 months of data, so the overview
            # opens with a comparison against the 12 months before.
            kept = (max(first, last - DEFAULT_PERIOD + timedelta(days=1)), last)
        key = _widget_key("period", lang, tuple(kept))
        chosen = st.sidebar.date_input(
            ctx.t("period"),
            min_value=first,
            max_value=last,
            format=_DATE_FORMAT[lang],
            key=key,
            on_change=_remember,
            persist_state="session",
            args=("period", key),
        )
        if isinstance(chosen, tuple | list) and len(chosen) == 2:  # one date while the user is choosing
            start, end = chosen[0], chosen[1]
    chosen_state = None
    if state:
        states = ctx.reader.frame(queries.STATES)
        names = dict(zip(states["state_code"], states["state_name"], strict=True))
        kept = st.session_state.get(choice_key("state"))
        key = _widget_key("state", lang, kept if kept in names else ALL)
        chosen_state = st.sidebar.selectbox(
            ctx.t("state"),
            [ALL, *names],
            format_func=lambda code: ctx.t("all") if code == ALL else f"{code} · {names[code]}",
            placeholder=ctx.t("choose"),
            key=key,
            on_change=_remember,
            persist_state="session",
            args=("state", key),
        )
    chosen_category = None
    if category:
        categories = ctx.reader.frame(queries.CATEGORIES)
        keys = categories["category_name_en"].tolist()
        kept = st.session_state.get(choice_key("category"))
        key = _widget_key("category", lang, kept if kept in keys else ALL)
        chosen_category = st.sidebar.selectbox(
            ctx.t("category"),
            [ALL, *keys],
            format_func=lambda code: ctx.t("all") if code == ALL else category_name(code, lang),
            placeholder=ctx.t("choose"),
            key=key,
            on_change=_remember,
            persist_state="session",
            args=("category", key),
        )
    return Filters(
        start or date.today(),
        end or date.today(),
        None if chosen_state in (ALL, None) else chosen_state,
        None if chosen_category in (ALL, None) else chosen_category,
    )


def show_table(
    ctx: PageContext,
    frame: pd.DataFrame,
    columns: dict[str, tuple[str, Kind]],
    download_name: str | None = None,
) -> pd.DataFrame:
    """Show `frame` as a table: `columns` maps each column to (label key, kind). Values are formatted for
    the language (missing ones as "—"), headers translated through the column configuration while the data
    keeps its stable column names. With `download_name`, a CSV of the same columns with translated headers
    and the raw values (what a spreadsheet computes with). Returns the shown (formatted) frame."""
    kinds = {column: kind for column, (_, kind) in columns.items()}
    labels = {column: ctx.t(key) for column, (key, _) in columns.items()}
    shown = formatted(frame, kinds, ctx.language)
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height="content" if len(shown) <= WHOLE_TABLE_ROWS else "auto",
        column_config=table_config(kinds, labels),
    )
    if download_name:
        download(ctx, frame[list(columns)].rename(columns=labels), download_name)
    return shown


def download(ctx: PageContext, frame: pd.DataFrame, name: str) -> None:
    """A CSV download of the page's main table (UTF-8 with BOM, so spreadsheet tools read the accents)."""
    st.download_button(
        ctx.t("download_csv"),
        frame.to_csv(index=False).encode("utf-8-sig"),
        file_name=f"cofre_{name}.csv",
        mime="text/csv",
        icon=":material/download:",
    )


def _as_date(value: Any) -> date | None:
    if value is None or pd.isna(value):
        return None
    return value.date() if isinstance(value, pd.Timestamp) else value
