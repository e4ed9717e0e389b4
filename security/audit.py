"""The tamper-evident audit trail: an append-only JSON-lines file of HMAC'd, hash-chained events.

Each line is one event `{seq, time, actor, action, target, outcome, details, prev_hash, hash, mac}`:
`hash` is the SHA-256 of the event's canonical JSON without `hash` and `mac`, and includes the previous
event's hash, so deleting, inserting or reordering lines breaks the chain; `mac` is HMAC-SHA256 over the
event (with its hash) under the `audit_hmac_key` vault entry, so nobody without the key can recompute a
valid chain after an edit. A sibling checkpoint `<name>.head.json` holds the last seq and hash under the
same MAC and is replaced atomically after each append, so cutting events off the end is detected too.

An event is appended first and the head updated second: a process killed in between leaves the head
exactly one event behind, which `verify` reports as a note and the next append repairs. Anything else
(events missing after the head, the head behind by more, a torn last line) is reported as tampering.
With a `StateAnchor` (security/anchor.py), kept outside the state directory, the trail must also reach
the last event the anchor records: deleting the trail with its head, or cutting it back and deleting the
head, fails `verify` and stops `record`. Secret values never enter the trail: `record` refuses an event
whose target or details contain any vault value of 4 characters or more (as written or JSON-escaped),
before anything is written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pwd
import socket
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from security.anchor import AnchorState, StateAnchor
from security.errors import AuditTampered, CofreSecurityError, SecretInAuditEvent
from security.files import DEFAULT_LOCK_TIMEOUT_S, atomic_write, ensure_private_dir, held, private_lock
from security.keys import decode_b64
from security.secret_names import AUDIT_HMAC_KEY

if TYPE_CHECKING:
    from security.vault import Vault

GENESIS_HASH = "0" * 64
MIN_GUARDED_SECRET_LENGTH = 4
EVENT_FIELDS = ("seq", "time", "actor", "action", "target", "outcome", "details", "prev_hash", "hash", "mac")
_TAIL_CHUNK = 64 * 1024


def default_actor() -> str:
    """`user@host` of this process, from the password database rather than environment variables."""
    return f"{pwd.getpwuid(os.getuid()).pw_name}@{socket.gethostname()}"


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _event_hash(event: dict[str, Any]) -> str:
    return hashlib.sha256(
        _canonical({k: v for k, v in event.items() if k not in ("hash", "mac")})
    ).hexdigest()


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """The events of the trail at `path`, oldest first, as written; reading needs no key (nor proves much)."""
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        return
    with handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def tail_events(path: Path, count: int) -> list[dict[str, Any]]:
    """The last `count` events of the trail at `path`, oldest first."""
    return list(deque(read_events(path), maxlen=count))


@dataclass(frozen=True)
class AuditReport:
    """Result of `verify`: ok, or the first bad event (its seq when readable, its line) and why."""

    ok: bool
    events: int
    reason: str | None = None
    line: int | None = None
    seq: int | None = None
    note: str | None = None


class AuditTrail:
    """The audit file at `path`, MAC'd with `key`; `secret_values` lists what must never be written."""

    def __init__(
        self,
        path: Path,
        key: bytes,
        *,
        actor: str,
        secret_values: Callable[[], Iterable[str]] | None = None,
        anchor: StateAnchor | None = None,
        lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    ) -> None:
        if len(key) < 32:
            raise ValueError("The audit HMAC key must be at least 32 bytes.")
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.stem + ".head.json")
        self.actor = actor
        self._key = key
        self._secret_values = secret_values
        self.anchor = anchor
        self._lock = private_lock(self.path)
        self._lock_timeout_s = lock_timeout_s

    @classmethod
    def for_vault(
        cls, path: Path, vault: Vault, *, actor: str, anchor: StateAnchor | None = None
    ) -> AuditTrail:
        """The trail keyed by the vault's `audit_hmac_key`, guarded by the vault's values, and wired to
        record a `secret.read` event (name only) for every later `vault.get`. The anchor defaults to the
        vault's, so the trail cannot be deleted or cut back behind what the state has already seen."""
        trail = cls(
            path,
            decode_b64(vault.get(AUDIT_HMAC_KEY)),
            actor=actor,
            secret_values=vault.secret_values,
            anchor=anchor if anchor is not None else vault.anchor,
        )

        def record_read(name: str) -> None:
            trail.record("secret.read", target=name)

        vault.on_read = record_read
        return trail

    # -- writing -------------------------------------------------------------------------------------

    def record(
        self,
        action: str,
        *,
        target: str,
        outcome: str = "success",
        details: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Append one event and move the head checkpoint to it; return the event as written."""
        event: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="microseconds"),
            "actor": actor or self.actor,
            "action": action,
            "target": target,
            "outcome": outcome,
            "details": details or {},
        }
        self._refuse_secrets(event)
        ensure_private_dir(self.path.parent)
        with held(self._lock, self._lock_timeout_s):
            last = self._checked_tail()
            event = {
                "seq": last["seq"] + 1 if last else 1,
                **event,
                "prev_hash": last["hash"] if last else GENESIS_HASH,
            }
            event["hash"] = _event_hash(event)
            event["mac"] = self._mac(event)
            line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            self._write_head(event["seq"], event["hash"])
            if self.anchor is not None:
                self.anchor.advance_audit(event["seq"], event["hash"])
        return event

    def _refuse_secrets(self, event: dict[str, Any]) -> None:
        if self._secret_values is None:
            return
        # Only the caller-supplied fields: actor, action and outcome are cofre's own words, and checking
        # them would refuse events just because a weak secret happens to equal a user or host name.
        text = json.dumps([event["target"], event["details"]], ensure_ascii=False)
        for value in self._secret_values():
            if len(value) < MIN_GUARDED_SECRET_LENGTH:
                continue
            if value in text or json.dumps(value, ensure_ascii=False)[1:-1] in text:
                raise SecretInAuditEvent(event["action"])

    def _mac(self, event: dict[str, Any]) -> str:
        return hmac.new(
            self._key, _canonical({k: v for k, v in event.items() if k != "mac"}), "sha256"
        ).hexdigest()

    def _head_mac(self, seq: int, hash_: str) -> str:
        return hmac.new(self._key, _canonical({"head": {"seq": seq, "hash": hash_}}), "sha256").hexdigest()

    def _write_head(self, seq: int, hash_: str) -> None:
        head = {"seq": seq, "hash": hash_, "mac": self._head_mac(seq, hash_)}
        atomic_write(self.head_path, (json.dumps(head) + "\n").encode("ascii"))

    def _read_head(self) -> dict[str, Any] | None:
        """The head checkpoint if present and authentic; AuditTampered if present and not."""
        try:
            head = json.loads(self.head_path.read_text(encoding="ascii"))
            valid = hmac.compare_digest(self._head_mac(int(head["seq"]), str(head["hash"])), str(head["mac"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            raise AuditTampered(f"The audit head checkpoint {self.head_path} is not authentic.")
        return head  # type: ignore[no-any-return]

    def _checked_tail(self) -> dict[str, Any] | None:
        """The last event, after checking it is authentic and agrees with the head checkpoint."""
        head = self._read_head()
        last_line = self._last_line()
        fix = "Run `cofre audit verify` and investigate before recording more events."
        if last_line is None:
            if head is not None:
                raise AuditTampered(f"The audit trail {self.path} is empty but its head records events.")
            self._check_anchor_tail(None, fix)
            return None
        if not last_line.endswith("\n"):
            raise AuditTampered(f"The audit trail {self.path} ends with an incomplete line. {fix}")
        try:
            last = json.loads(last_line)
            authentic = _event_hash(last) == last["hash"] and hmac.compare_digest(
                self._mac(last), last["mac"]
            )
        except (ValueError, KeyError, TypeError):
            authentic = False
        if not authentic:
            raise AuditTampered(f"The last event of the audit trail {self.path} is not authentic. {fix}")
        in_step = head is not None and head["seq"] == last["seq"] and head["hash"] == last["hash"]
        one_behind = head is not None and head["seq"] == last["seq"] - 1 and head["hash"] == last["prev_hash"]
        first_unheaded = head is None and last["seq"] == 1
        if not (in_step or one_behind or first_unheaded):
            raise AuditTampered(f"The audit trail {self.path} does not match its head checkpoint. {fix}")
        self._check_anchor_tail(last, fix)
        return last  # type: ignore[no-any-return]

    def _check_anchor_tail(self, last: dict[str, Any] | None, fix: str) -> None:
        """Refuse to extend a trail that is shorter than its anchor, or that ends elsewhere at that seq."""
        if self.anchor is None:
            return
        anchored = self.anchor.read()
        seq = last["seq"] if last is not None else 0
        if seq < anchored.audit_seq:
            raise AuditTampered(
                f"The audit trail {self.path} ends at event {seq}, but its anchor {self.anchor.path} records "
                f"{anchored.audit_seq} events: events were deleted or the trail was replaced. {fix}"
            )
        if last is not None and seq == anchored.audit_seq and last["hash"] != anchored.audit_hash:
            raise AuditTampered(
                f"The last event of the audit trail {self.path} is not the event its anchor "
                f"{self.anchor.path} records at seq {seq}: the trail was replaced. {fix}"
            )

    def _last_line(self) -> str | None:
        """The file's last line (with its newline if it has one), reading backwards from the end."""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return None
        with handle:
            end = handle.seek(0, os.SEEK_END)
            if end == 0:
                return None
            buffer = b""
            position = end
            while position > 0:
                step = min(_TAIL_CHUNK, position)
                position -= step
                handle.seek(position)
                buffer = handle.read(step) + buffer
                if buffer.count(b"\n") >= 2 or (buffer.count(b"\n") == 1 and not buffer.endswith(b"\n")):
                    break
            body = buffer[:-1] if buffer.endswith(b"\n") else buffer
            return buffer[body.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")

    # -- reading -------------------------------------------------------------------------------------

    def events(self) -> Iterator[dict[str, Any]]:
        """Every event as a dict, oldest first (for mirroring to ops.audit_events); `verify` to trust them."""
        return read_events(self.path)

    def tail(self, count: int) -> list[dict[str, Any]]:
        return tail_events(self.path, count)

    def verify(self) -> AuditReport:
        """Walk the whole chain and the head; report the first event that breaks it, and why."""
        count, hashes = 0, [GENESIS_HASH]  # hashes: before and after the last good event
        try:
            anchored = self.anchor.read() if self.anchor is not None else None
        except CofreSecurityError as exc:
            return AuditReport(ok=False, events=0, reason=str(exc))
        anchored_hash: str | None = None  # the hash of the event at the anchor's seq, once walked
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return self._check_anchor(self._check_head(count, hashes), anchored, anchored_hash)
        with handle:
            for raw in handle:
                problem, seq, event = self._check_line(raw, count + 1, hashes[-1])
                if problem is not None:
                    return AuditReport(ok=False, events=count, reason=problem, line=count + 1, seq=seq)
                count, hashes = count + 1, [hashes[-1], event["hash"]]
                if anchored is not None and count == anchored.audit_seq:
                    anchored_hash = event["hash"]
        return self._check_anchor(self._check_head(count, hashes), anchored, anchored_hash)

    def _check_anchor(
        self, report: AuditReport, anchored: AnchorState | None, anchored_hash: str | None
    ) -> AuditReport:
        """A trail that is intact by itself must also reach the anchor kept outside the state directory."""
        if not report.ok or anchored is None or anchored.audit_seq == 0:
            return report
        assert self.anchor is not None
        if report.events < anchored.audit_seq:
            return AuditReport(
                ok=False,
                events=report.events,
                seq=report.events + 1,
                reason=(
                    f"deleted or truncated: the anchor {self.anchor.path} (outside the state directory) "
                    f"records {anchored.audit_seq} events, the trail holds {report.events}"
                ),
            )
        if anchored_hash != anchored.audit_hash:
            return AuditReport(
                ok=False,
                events=report.events,
                seq=anchored.audit_seq,
                line=anchored.audit_seq,
                reason=(
                    f"replaced: event {anchored.audit_seq} is not the one the anchor {self.anchor.path} "
                    "records (the trail was swapped for another chain)"
                ),
            )
        return report

    def _check_line(
        self, raw: bytes, expected_seq: int, previous_hash: str
    ) -> tuple[str | None, int | None, dict[str, Any]]:
        if not raw.endswith(b"\n"):
            return "incomplete last line (cut mid-event)", None, {}
        try:
            event = json.loads(raw)
            if not isinstance(event, dict) or set(event) != set(EVENT_FIELDS):
                return "not an audit event (fields missing or added)", None, {}
        except ValueError:
            return "not valid JSON (edited or corrupted)", None, {}
        seq = event["seq"]
        if seq != expected_seq:
            return (
                f"seq {seq} where {expected_seq} was expected (an event was deleted, inserted or moved)",
                seq,
                {},
            )
        if event["prev_hash"] != previous_hash:
            return "prev_hash does not match the previous event (deleted, inserted or reordered)", seq, {}
        if _event_hash(event) != event["hash"]:
            return "content does not match its hash (the event was edited)", seq, {}
        if not hmac.compare_digest(self._mac(event), str(event["mac"])):
            return "MAC is invalid (the event was edited or forged without the audit key)", seq, {}
        return None, seq, event

    def _check_head(self, count: int, hashes: list[str]) -> AuditReport:
        try:
            head = self._read_head()
        except AuditTampered as exc:
            return AuditReport(ok=False, events=count, reason=str(exc))
        if head is None:
            if count <= 1:  # nothing yet, or killed between the first append and its checkpoint
                return AuditReport(ok=True, events=count)
            return AuditReport(ok=False, events=count, reason="head checkpoint missing (deleted)")
        if head["seq"] > count:
            return AuditReport(
                ok=False,
                events=count,
                seq=count + 1,
                reason=f"truncated: the head checkpoint records seq {head['seq']}, the trail ends at {count}",
            )
        if head["seq"] == count and head["hash"] == hashes[-1]:
            return AuditReport(ok=True, events=count)
        if head["seq"] == count - 1 and head["hash"] == hashes[0]:
            return AuditReport(
                ok=True,
                events=count,
                note="head checkpoint one event behind (an append was interrupted); the next append fixes it",
            )
        return AuditReport(ok=False, events=count, reason="the head checkpoint does not match the last event")
