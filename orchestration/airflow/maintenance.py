"""The maintenance DAGs' tasks: bronze lifecycle, vault key rotation and audit-trail verification, each
recorded in the audit trail."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from orchestration.airflow.defaults import load_settings
from orchestration.environment import prepare_process

log = logging.getLogger(__name__)


def run_lifecycle(*, run_id: str) -> dict[str, Any]:
    """Move bronze loads older than the retention to the cold layer (ingestion.lifecycle.run); every
    move is a `lifecycle.move` audit event."""
    settings = load_settings()
    prepare_process(settings, log_file=False)
    from ingestion import lifecycle
    from orchestration.lock import state_lock
    from orchestration.services import build_services

    services = build_services(settings, actor="airflow")
    with state_lock(settings.home, "lifecycle (airflow)", run_id=run_id, wait=True):
        report = lifecycle.run(services.lake, older_than_days=settings.retention_days, audit=services.audit)
    log.info("%s: moved %d load(s), %d objects", run_id, len(report.moves), report.objects)
    return {"moves": [asdict(m) for m in report.moves], "objects": report.objects, "bytes": report.bytes}


def rotate_vault_key(*, run_id: str) -> dict[str, Any]:
    """`cofre vault rotate`: re-encrypt every entry under a new key version, retire the old key, and
    record the outcome in the audit trail (a failure too, then raise)."""
    from orchestration.lock import state_lock
    from orchestration.services import open_audited
    from security.errors import CofreSecurityError

    settings = load_settings()
    vault, trail = open_audited(settings, actor="airflow")
    try:
        with state_lock(settings.home, "vault rotate (airflow)", run_id=run_id, wait=True):
            report = vault.rotate(on_step=lambda step: log.info("rotation: %s", step.replace("_", " ")))
    except CofreSecurityError as error:
        trail.record(
            "vault.rotate",
            target=str(vault.path),
            outcome="failure",
            details={"error": type(error).__name__, "run_id": run_id},
        )
        raise
    details = {
        "old_version": report.old_version,
        "new_version": report.new_version,
        "entries": report.entries,
    }
    trail.record("vault.rotate", target=str(vault.path), details={**details, "run_id": run_id})
    return details


def verify_audit_trail() -> dict[str, Any]:
    """`cofre audit verify`: check every event's chain and MAC; raise if the trail was altered."""
    from orchestration.services import open_audited
    from security.errors import AuditTampered

    _, trail = open_audited(load_settings(), actor="airflow")
    report = trail.verify()
    if not report.ok:
        raise AuditTampered(
            f"audit trail tampered at line {report.line} (seq {report.seq}): {report.reason}; "
            f"{report.events} events before it verify (see docs/security.md)"
        )
    return {"events": report.events, "note": report.note}
