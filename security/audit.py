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
Secret values never enter the trail: `record` refuses an event whose target or details contain any
vault value of 4 characters or more (as written or JSON-escaped), before anything is written.
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

from security.errors import AuditTampered, SecretInAuditEvent
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
        lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    ) -> None:
        if len(key) < 32:
            raise ValueError("The audit HMAC key must be at least 32 bytes.")
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.stem + ".head.json")
        self.actor = actor
        self._key = key
        self._secret_values = secret_values
        self._lock = private_lock(self.path)
        self._lock_timeout_s = lock_timeout_s

    @classmethod
    def for_vault(cls, path: Path, vault: Vault, *, actor: str) -> AuditTrail:
        """The trail keyed by the vault's `audit_hmac_key`, guarded by the vault's values, and wired to
        record a `secret.read` event (name only) for every later `vault.get`."""
        trail = cls(
            path, decode_b64(vault.get(AUDIT_HMAC_KEY)), actor=actor, secret_values=vault.secret_values
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
        if last_line is None:
            if head is not None:
                raise AuditTampered(f"The audit trail {self.path} is empty but its head records events.")
            return None
        fix = "Run `cofre audit verify` and investigate before recording more events."
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
        return last  # type: ignore[no-any-return]

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
            handle = self.path.open("rb")
        except FileNotFoundError:
            return self._check_head(count, hashes)
        with handle:
            for raw in handle:
                problem, seq, event = self._check_line(raw, count + 1, hashes[-1])
                if problem is not None:
                    return AuditReport(ok=False, events=count, reason=problem, line=count + 1, seq=seq)
                count, hashes = count + 1, [hashes[-1], event["hash"]]
        return self._check_head(count, hashes)

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
