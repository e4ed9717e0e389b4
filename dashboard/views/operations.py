"""Data quality and operations: freshness, audit trail verification, last runs, step durations and the
results of the quality gates, from the published `ops` tables (rewritten after every run, failed ones
included)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboard import charts, queries
from dashboard.formatting import day, number, stamp
from dashboard.i18n import value_label
from dashboard.page import PageContext, run_page, show_table


def render(ctx: PageContext) -> None:
    _status(ctx)
    if ctx.reader.has_table("ops", "pipeline_runs"):
        _runs(ctx)
    if ctx.reader.has_table("ops", "privacy_checks"):
        _privacy(ctx)
    if ctx.reader.has_table("ops", "audit_events"):
        _gates(ctx)


def _status(ctx: PageContext) -> None:
    """Freshness (last successful run, newest order) and whether the audit trail verified intact."""
    freshness, newest, audit = st.columns(3)
    last = None
    if ctx.reader.has_table("ops", "pipeline_runs"):
        last = _timestamp(ctx.reader.frame(queries.LAST_SUCCESS)["finished_at"].iloc[0])
    freshness.metric(
        ctx.t("last_success"),
        ctx.t("never") if last is None else ctx.t("age", age=age(datetime.now(UTC) - last, ctx)),
        help=None if last is None else stamp(last, ctx.language) + " UTC",
        border=True,
    )
    newest_order = None
    if ctx.reader.available("marts"):
        newest_order = ctx.reader.frame(queries.NEWEST_ORDER)["newest_order"].iloc[0]
    newest.metric(ctx.t("newest_order"), day(newest_order, ctx.language), border=True)
    with audit:
        st.markdown(f"**{ctx.t('audit_status')}**")
        checks = (
            ctx.reader.frame(queries.AUDIT_CHECKS) if ctx.reader.has_table("ops", "audit_checks") else None
        )
        if checks is None or checks.empty:
            st.info(ctx.t("audit_unknown"))
        else:
            check = checks.iloc[0]
            checked_at = stamp(check["checked_at"], ctx.language)
            if bool(check["ok"]):
                events = number(int(check["events"]), ctx.language)
                st.success(ctx.t("audit_ok", events=events, checked_at=checked_at))
            else:
                st.error(ctx.t("audit_broken", checked_at=checked_at, reason=check["reason"]))


def _runs(ctx: PageContext) -> None:
    runs = ctx.reader.frame(queries.RUNS)
    st.subheader(ctx.t("last_runs"))
    runs["status_shown"] = [value_label("status", v, ctx.language) for v in runs["run_status"]]
    runs["failed_shown"] = [
        None if v is None or pd.isna(v) else value_label("step", v, ctx.language) for v in runs["failed_step"]
    ]
    show_table(
        ctx,
        runs,
        {
            "run_id": ("run", "text"),
            "started_at": ("started_at", "stamp"),
            "finished_at": ("finished_at", "stamp"),
            "status_shown": ("run_status", "text"),
            "seconds": ("seconds", "dec1"),
            "steps": ("steps", "int"),
            "failed_shown": ("failed_step", "text"),
        },
        "runs",
    )
    if runs.empty:
        return
    st.subheader(ctx.t("step_durations"))
    run_id = st.selectbox(ctx.t("run_steps_of"), runs["run_id"].tolist(), key="ops_run")
    steps = ctx.reader.frame(queries.RUN_STEPS, {"run_id": run_id})
    steps["name"] = [value_label("step", v, ctx.language) for v in steps["step"]]
    steps["status_shown"] = [value_label("status", v, ctx.language) for v in steps["step_status"]]
    st.altair_chart(
        charts.bars(steps, "name", "seconds", ctx.t("step"), ctx.t("seconds"), ctx.language, ",.1f"),
        width="stretch",
    )
    show_table(
        ctx,
        steps,
        {
            "name": ("step", "text"),
            "status_shown": ("run_status", "text"),
            "seconds": ("seconds", "dec1"),
            "rows": ("rows", "int"),
            "error": ("error", "text"),
        },
    )


def _privacy(ctx: PageContext) -> None:
    """The k-anonymity gate of the last run that measured the published data (warehouse/privacy.py)."""
    checks = ctx.reader.frame(queries.PRIVACY_CHECKS)
    if checks.empty:
        return
    st.subheader(ctx.t("privacy"))
    st.caption(ctx.t("privacy_caption"))
    table = pd.DataFrame(
        {
            "table": [_published_table(name, ctx) for name in checks["table_name"]],
            "quasi_identifiers": [
                ", ".join(
                    value_label("quasi_identifier", column.strip().rsplit(".", 1)[-1], ctx.language)
                    for column in str(columns).split(",")
                )
                for columns in checks["quasi_identifiers"]
            ],
            "k": checks["k"],
            "k_required": checks["k_required"],
            "records_below_k": checks["records_below_k"],
            "share_below_k": checks["share_below_k"],
            "outcome": [
                value_label("status", "success" if bool(ok) else "failure", ctx.language)
                for ok in checks["passed"]
            ],
        }
    )
    show_table(
        ctx,
        table,
        {
            "table": ("privacy_table", "text"),
            "quasi_identifiers": ("quasi_identifiers", "text"),
            "k": ("k_found", "int"),
            "k_required": ("k_required", "int"),
            "records_below_k": ("records_below_k", "int"),
            "share_below_k": ("share_below_k", "percent"),
            "outcome": ("outcome", "text"),
        },
    )


def _published_table(name: object, ctx: PageContext) -> str:
    """`fct_orders ⋈ dim_customer` as `Orders + Customers`: what a reader joins."""
    return " + ".join(
        value_label("published_table", part.strip(), ctx.language) for part in str(name).split("⋈")
    )


def _gates(ctx: PageContext) -> None:
    gates = ctx.reader.frame(queries.GATE_RESULTS)
    st.subheader(ctx.t("gates"))
    failures = [json.loads(text or "{}").get("failures") or [] for text in gates["details"]]
    table = pd.DataFrame(
        {
            "when": gates["event_time"],
            "gate": [value_label("gate", v, ctx.language) for v in gates["target"]],
            "outcome": [value_label("status", v, ctx.language) for v in gates["outcome"]],
            "failures": ["; ".join(map(str, found)) or None for found in failures],
        }
    )
    show_table(
        ctx,
        table,
        {
            "when": ("when", "stamp"),
            "gate": ("gate", "text"),
            "outcome": ("outcome", "text"),
            "failures": ("failures", "text"),
        },
    )


def age(delta: timedelta, ctx: PageContext) -> str:
    """A duration as people say it: minutes, hours or days."""
    minutes = delta.total_seconds() / 60
    if minutes < 90:
        return f"{number(minutes, ctx.language)} min"
    if minutes < 48 * 60:
        return f"{number(minutes / 60, ctx.language, 1)} h"
    return f"{number(minutes / 1440, ctx.language, 1)} d"


def _timestamp(value: object) -> datetime | None:
    """A finished_at value as an aware UTC datetime (dlt stores UTC), or None."""
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


run_page("page_operations", render, needs=("ops",))
