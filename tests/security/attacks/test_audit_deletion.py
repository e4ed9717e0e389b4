"""Item 4 of issue 14: deleting or cutting back the whole audit trail, head checkpoint included."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from security.audit import AuditTrail
from security.errors import AuditTampered
from tests.security.attacks.conftest import StateCopy


def _unanchored(trail: AuditTrail) -> AuditTrail:
    """The same trail as it was checked before anchors: by its own files alone."""
    return AuditTrail(trail.path, trail._key, actor="verifier")


def test_deleting_the_trail_with_its_head_fails_verify_and_stops_the_run(state: StateCopy) -> None:
    trail = state.open().audit
    assert trail is not None
    recorded = trail.verify().events
    assert recorded >= 6

    state.audit_path.unlink()  # the attack
    state.head_path.unlink()

    assert _unanchored(trail).verify().ok  # by its own files, an empty trail looks like a new one
    report = state.open().audit.verify()  # type: ignore[union-attr]
    assert not report.ok and report.events == 0 and report.seq == 1
    assert report.reason is not None and "deleted or truncated" in report.reason
    assert f"records {recorded} events, the trail holds 0" in report.reason
    with pytest.raises(AuditTampered, match=f"ends at event 0, but its anchor .* records {recorded} events"):
        trail.record("lake.write", target="bronze/orders/part-6.parquet")
    assert not state.audit_path.exists()  # no new chain was started


def test_keeping_line_one_and_deleting_the_head_fails_verify_and_stops_the_run(state: StateCopy) -> None:
    trail = state.open().audit
    assert trail is not None
    recorded = trail.verify().events
    first_line = state.audit_path.read_text().splitlines(keepends=True)[0]

    state.audit_path.write_text(first_line)  # the attack
    state.head_path.unlink()

    assert _unanchored(trail).verify().ok  # one event, no head: what an interrupted first append leaves
    report = trail.verify()
    assert not report.ok and report.events == 1 and report.seq == 2
    assert report.reason is not None and f"records {recorded} events, the trail holds 1" in report.reason
    with pytest.raises(AuditTampered, match="events were deleted or the trail was replaced"):
        trail.record("lake.write", target="bronze/orders/part-6.parquet")
    assert state.audit_path.read_text() == first_line


def test_restoring_an_older_intact_trail_and_head_fails_verify(state: StateCopy, tmp_path: Path) -> None:
    """The 'whole-trail rollback' docs/security.md used to list as undetectable."""
    trail = state.open().audit
    assert trail is not None
    saved = tmp_path / "saved"
    saved.mkdir()
    shutil.copy2(state.audit_path, saved / "audit.jsonl")
    shutil.copy2(state.head_path, saved / "audit.head.json")
    for part in range(3):
        trail.record("warehouse.write", target=f"marts.fct_orders#{part}")
    recorded = trail.verify().events

    shutil.copy2(saved / "audit.jsonl", state.audit_path)  # the attack: an older, intact pair
    shutil.copy2(saved / "audit.head.json", state.head_path)

    assert _unanchored(trail).verify().ok
    report = trail.verify()
    assert not report.ok and report.events == recorded - 3
    assert report.reason is not None and "deleted or truncated" in report.reason
    with pytest.raises(AuditTampered):
        trail.record("lake.write", target="bronze/orders/part-7.parquet")


def test_events_appended_without_the_anchor_still_verify(state: StateCopy) -> None:
    """Not an attack: a writer that does not know the anchor (an older process) leaves it behind; the
    chain from the anchored event on proves the trail only grew."""
    trail = state.open().audit
    assert trail is not None
    _unanchored(trail).record("lake.write", target="bronze/orders/part-8.parquet")
    report = trail.verify()
    assert report.ok and report.events == trail.anchor.read().audit_seq + 1  # type: ignore[union-attr]
    trail.record("lake.write", target="bronze/orders/part-9.parquet")
    assert trail.verify().ok and trail.anchor.read().audit_seq == report.events + 1  # type: ignore[union-attr]
