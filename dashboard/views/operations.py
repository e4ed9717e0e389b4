"""Data quality and operations: freshness, audit trail verification, last runs, step durations and the
results of the quality gates, from the published `ops` tables (rewritten after every run, failed ones
included)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboard import charts, queries
from dashboard.i18n import number
from dashboard.page import PageContext, download, run_page


def render(ctx: PageContext) -> None:
    _status(ctx)
    if ctx.reader.has_table("ops", "pipeline_runs"):
        _runs(ctx)
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
        help=None if last is None else last.isoformat(timespec="seconds"),
        border=True,
    )
    newest_order = None
    if ctx.reader.available("marts"):
        newest_order = ctx.reader.frame(queries.NEWEST_ORDER)["newest_order"].iloc[0]
    newest.metric(
        ctx.t("newest_order"), "—" if pd.isna(newest_order) else str(newest_order)[:10], border=True
    )
    with audit:
        st.markdown(f"**{ctx.t('audit_status')}**")
        checks = (
            ctx.reader.frame(queries.AUDIT_CHECKS) if ctx.reader.has_table("ops", "audit_checks") else None
        )
        if checks is None or checks.empty:
            st.info(ctx.t("audit_unknown"))
        else:
            check = checks.iloc[0]
            checked_at = str(check["checked_at"])[:19]
            if bool(check["ok"]):
                st.success(ctx.t("audit_ok", events=int(check["events"]), checked_at=checked_at))
            else:
                st.error(ctx.t("audit_broken", checked_at=checked_at, reason=check["reason"]))


def _runs(ctx: PageContext) -> None:
    runs = ctx.reader.frame(queries.RUNS)
    st.subheader(ctx.t("last_runs"))
    table = runs.rename(
        columns={
            "run_id": ctx.t("run"),
            "started_at": ctx.t("started_at"),
            "run_status": ctx.t("run_status"),
            "seconds": ctx.t("seconds"),
            "steps": ctx.t("steps"),
            "failed_step": ctx.t("failed_step"),
        }
    ).drop(columns=["finished_at"])
    st.dataframe(table, hide_index=True, width="stretch")
    download(ctx, table, "runs")
    if runs.empty:
        return
    st.subheader(ctx.t("step_durations"))
    run_id = st.selectbox(ctx.t("run_steps_of"), runs["run_id"].tolist(), key="ops_run")
    steps = ctx.reader.frame(queries.RUN_STEPS, {"run_id": run_id})
    st.altair_chart(charts.bars(steps, "step", "seconds", ctx.t("step"), ctx.t("seconds")), width="stretch")
    st.dataframe(
        steps.rename(
            columns={
                "step": ctx.t("step"),
                "step_status": ctx.t("run_status"),
                "seconds": ctx.t("seconds"),
                "rows": ctx.t("rows"),
                "error": ctx.t("error"),
            }
        ).drop(columns=["position"]),
        hide_index=True,
        width="stretch",
    )


def _gates(ctx: PageContext) -> None:
    gates = ctx.reader.frame(queries.GATE_RESULTS)
    st.subheader(ctx.t("gates"))
    failures = [json.loads(text or "{}").get("failures") or [] for text in gates["details"]]
    table = pd.DataFrame(
        {
            ctx.t("when"): gates["event_time"],
            ctx.t("gate"): gates["target"],
            ctx.t("outcome"): gates["outcome"],
            ctx.t("failures"): ["; ".join(map(str, found)) for found in failures],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")


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
