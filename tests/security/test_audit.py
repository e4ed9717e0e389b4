"""The audit trail: an untouched trail verifies; every edit, deletion, reordering, insertion or
truncation is reported at the first bad event; secret values are refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from security.audit import AuditTrail, read_events
from security.bootstrap import ensure_embedded_secrets
from security.errors import AuditTampered, SecretInAuditEvent
from security.vault import Vault
from tests.security.helpers import files_containing


@pytest.fixture
def trail(tmp_path: Path) -> AuditTrail:
    trail = AuditTrail(tmp_path / "audit" / "audit.jsonl", os.urandom(32), actor="tester@host")
    for i in range(1, 6):
        trail.record("lake.write", target=f"bronze/orders/part-{i}.parquet", details={"rows": i * 10})
    return trail


def _lines(trail: AuditTrail) -> list[str]:
    return trail.path.read_text().splitlines(keepends=True)


def _rewrite(trail: AuditTrail, lines: list[str]) -> None:
    trail.path.write_text("".join(lines))


def test_untouched_trail_verifies(trail: AuditTrail) -> None:
    report = trail.verify()
    assert report.ok and report.events == 5 and report.reason is None
    events = list(trail.events())
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    assert events[0]["actor"] == "tester@host" and events[0]["details"] == {"rows": 10}
    assert set(events[0]) == {
        "seq", "time", "actor", "action", "target", "outcome", "details", "prev_hash", "hash", "mac",
    }  # fmt: skip
    assert events[1]["prev_hash"] == events[0]["hash"]
    assert [e["seq"] for e in trail.tail(2)] == [4, 5]
    assert json.loads(trail.head_path.read_text())["seq"] == 5


def test_empty_trail_verifies(tmp_path: Path) -> None:
    report = AuditTrail(tmp_path / "audit.jsonl", os.urandom(32), actor="a").verify()
    assert report.ok and report.events == 0


def test_edit_is_detected(trail: AuditTrail) -> None:
    lines = _lines(trail)
    lines[2] = lines[2].replace('"rows":30', '"rows":31')
    _rewrite(trail, lines)
    report = trail.verify()
    assert not report.ok and (report.line, report.seq) == (3, 3) and "edited" in report.reason


def test_edit_with_recomputed_hash_fails_the_mac(trail: AuditTrail) -> None:
    import hashlib

    lines = _lines(trail)
    event = json.loads(lines[1])
    event["outcome"] = "failure"
    body = {k: v for k, v in event.items() if k not in ("hash", "mac")}
    event["hash"] = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    lines[1] = json.dumps(event) + "\n"
    _rewrite(trail, lines)
    report = trail.verify()
    assert not report.ok and report.line == 2
    # The next event's prev_hash no longer matches either; the first bad one is the edited event.
    assert "MAC" in report.reason


def test_deletion_is_detected(trail: AuditTrail) -> None:
    lines = _lines(trail)
    del lines[2]
    _rewrite(trail, lines)
    report = trail.verify()
    assert not report.ok and report.line == 3 and report.seq == 4 and "deleted" in report.reason


def test_reordering_is_detected(trail: AuditTrail) -> None:
    lines = _lines(trail)
    lines[1], lines[2] = lines[2], lines[1]
    _rewrite(trail, lines)
    report = trail.verify()
    assert not report.ok and report.line == 2 and report.seq == 3


def test_insertion_of_a_copy_is_detected(trail: AuditTrail) -> None:
    lines = _lines(trail)
    lines.insert(2, lines[1])
    _rewrite(trail, lines)
    report = trail.verify()
    assert not report.ok and report.line == 3


def test_insertion_of_a_forged_event_is_detected(trail: AuditTrail, tmp_path: Path) -> None:
    forger = AuditTrail(tmp_path / "forged" / "audit.jsonl", os.urandom(32), actor="mallory")
    for i in range(1, 4):
        forger.record("lake.write", target=f"bronze/orders/part-{i}.parquet", details={"rows": i * 10})
    lines = _lines(trail)
    forged = forger.path.read_text().splitlines(keepends=True)
    _rewrite(trail, forged[:3] + lines[3:])  # a whole forged prefix with a valid chain but no valid MAC
    report = trail.verify()
    assert not report.ok and report.line == 1 and "MAC" in report.reason


@pytest.mark.parametrize("keep_lines", [4, 1, 0])
def test_truncation_is_detected(trail: AuditTrail, keep_lines: int) -> None:
    _rewrite(trail, _lines(trail)[:keep_lines])
    report = trail.verify()
    assert not report.ok and "truncated" in report.reason
    with pytest.raises(AuditTampered):
        trail.record("x.y", target="t")


def test_cut_mid_line_is_detected(trail: AuditTrail) -> None:
    data = trail.path.read_bytes()
    trail.path.write_bytes(data[:-40])
    report = trail.verify()
    assert not report.ok and report.line == 5 and "incomplete" in report.reason


def test_deleted_head_is_detected(trail: AuditTrail) -> None:
    trail.head_path.unlink()
    report = trail.verify()
    assert not report.ok and "head" in report.reason


def test_forged_head_is_detected(trail: AuditTrail) -> None:
    head = json.loads(trail.head_path.read_text())
    trail.head_path.write_text(json.dumps({**head, "seq": 3}))
    report = trail.verify()
    assert not report.ok and "not authentic" in report.reason


def test_interrupted_append_is_a_note_and_repairs(trail: AuditTrail) -> None:
    """Killed between appending an event and moving the head: legitimate, and fixed by the next append."""
    head_before = trail.head_path.read_bytes()
    trail.record("gate.result", target="fct_orders", outcome="passed")
    trail.head_path.write_bytes(head_before)
    report = trail.verify()
    assert report.ok and report.events == 6 and "behind" in report.note
    trail.record("gate.result", target="fct_payments", outcome="passed")
    report = trail.verify()
    assert report.ok and report.events == 7 and report.note is None


def test_tampered_trail_refuses_appends(trail: AuditTrail) -> None:
    lines = _lines(trail)
    lines[-1] = lines[-1].replace("part-5", "part-9")
    _rewrite(trail, lines)
    with pytest.raises(AuditTampered, match="cofre audit verify"):
        trail.record("x.y", target="t")


def test_secret_values_are_refused(tmp_path: Path) -> None:
    trail = AuditTrail(
        tmp_path / "audit.jsonl",
        os.urandom(32),
        actor="tester",
        secret_values=lambda: {"hunter2-secret-marker", "abc", 'quote"marker'},
    )
    with pytest.raises(SecretInAuditEvent, match="name, never its value"):
        trail.record("secret.read", target="pg", details={"oops": "pw is hunter2-secret-marker"})
    with pytest.raises(SecretInAuditEvent):
        trail.record("secret.read", target="hunter2-secret-marker")
    with pytest.raises(SecretInAuditEvent):
        trail.record("secret.read", target="pg", details={"v": 'quote"marker'})
    trail.record("secret.read", target="pg", details={"short": "abc"})  # under 4 chars: not guarded
    assert [e["details"] for e in read_events(trail.path)] == [{"short": "abc"}]


def test_vault_reads_are_audited_by_name_only(vault: Vault, tmp_path: Path) -> None:
    ensure_embedded_secrets(vault)
    vault.set("openweather_api_key", "ow-marker-value-123456")
    trail = AuditTrail.for_vault(tmp_path / "audit" / "audit.jsonl", vault, actor="pipeline")
    assert vault.get("openweather_api_key") == "ow-marker-value-123456"
    events = list(trail.events())
    assert [(e["action"], e["target"], e["actor"]) for e in events] == [
        ("secret.read", "openweather_api_key", "pipeline")
    ]
    with pytest.raises(SecretInAuditEvent):
        trail.record("lake.write", target="x", details={"leak": "ow-marker-value-123456"})
    assert trail.verify().ok
    values = sorted(vault.secret_values())
    assert list(files_containing(trail.path.parent, values)) == []
