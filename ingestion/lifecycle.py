"""Move bronze loads older than the retention to the cold layer, and bring them back, without loss.

A move is per load, in four steps, each safe to repeat:

1. copy every object of the load's manifest (and the manifest) to `cold/bronze/<source>/…`, skipping
   objects already there with the right checksum; each copy is atomic at the target;
2. verify every cold copy against the manifest's SHA-256;
3. record `copied` in the load's journal (`cold/_journal/<source>/<load_id>/`, one write-once object per
   step), then delete the bronze objects (a delete of an absent object is not an error);
4. record the move in the audit trail, then `archived` in the journal.

A process killed anywhere leaves a state the next run finishes: before `copied` the bronze objects are
untouched and the copy is redone; after it the deletes are redone. Objects are never deleted from the
source of a move before their copies were verified, so no byte is lost, and each object ends in exactly
one place. A crash between the audit event and the `archived` record repeats the audit event on the
next run (at-least-once), never the move. Restore runs the same protocol from cold back to bronze
(`restore-copied`, then `restored`); bronze's write-once rule holds: an object present in bronze with
another checksum stops the restore. The load's manifest stays in bronze throughout: it is the record of
the load, and `cofre lake verify` follows the journal to find the objects.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from ingestion.errors import LakeError
from ingestion.lake import Lake, Manifest, Store, cold_key, load_state, record_state

if TYPE_CHECKING:
    from security.audit import AuditTrail

Hook = Callable[[str], None]
"""Called with a step name ("object-copied", "copied", "object-deleted", …); tests use it to crash."""


@dataclass(frozen=True)
class Move:
    source: str
    load_id: str
    objects: int
    bytes: int
    created_at: str
    outcome: str  # "archived", "restored", "would archive", "would restore", "already …"


@dataclass
class LifecycleReport:
    moves: list[Move] = field(default_factory=list)

    @property
    def objects(self) -> int:
        return sum(m.objects for m in self.moves)

    @property
    def bytes(self) -> int:
        return sum(m.bytes for m in self.moves)


def _no_hook(step: str) -> None:
    return None


def due_loads(
    lake: Lake, older_than_days: int, *, now: datetime | None = None, include_restored: bool = False
) -> list[Manifest]:
    """Manifests of the loads to move: bronze loads created before the cutoff, plus any move an earlier
    run left half done (state `copied`), whatever its age.

    A load brought back by `restore` stays in bronze (someone wanted it back) unless `include_restored`.
    """
    cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
    movable = (None, "restored") if include_restored else (None,)
    due = []
    for source in lake.sources():
        for manifest in lake.manifests(source):
            if not manifest.objects:
                continue
            state = load_state(lake, source, manifest.load_id)
            old = datetime.fromisoformat(manifest.created_at) <= cutoff
            if state == "copied" or (old and state in movable):
                due.append(manifest)
    return due


def run(
    lake: Lake,
    *,
    older_than_days: int,
    dry_run: bool = False,
    audit: AuditTrail | None = None,
    now: datetime | None = None,
    include_restored: bool = False,
    hook: Hook = _no_hook,
) -> LifecycleReport:
    """Move every due bronze load to the cold layer (or, with `dry_run`, only say which would move)."""
    report = LifecycleReport()
    for manifest in due_loads(lake, older_than_days, now=now, include_restored=include_restored):
        if dry_run:
            report.moves.append(_move(manifest, "would archive"))
            continue
        archive(lake, manifest, audit=audit, hook=hook)
        report.moves.append(_move(manifest, "archived"))
    return report


def archive(
    lake: Lake, manifest: Manifest, *, audit: AuditTrail | None = None, hook: Hook = _no_hook
) -> None:
    """Move one load bronze -> cold (resuming wherever an earlier, interrupted run stopped)."""
    source, load_id = manifest.source, manifest.load_id
    bronze, cold = lake.bronze(source), lake.layer("cold")
    state = load_state(lake, source, load_id)
    if state in ("archived", "restore-copied"):
        return
    if state != "copied":
        present = cold.list(f"bronze/{source}")
        for obj in manifest.objects:
            _copy_verified(bronze, obj.path, cold, cold_key(source, obj.path), obj.sha256, present=present)
            hook("object-copied")
        manifest_key = lake.manifest_key(load_id)
        if cold_key(source, manifest_key) not in present:
            bronze.copy_to(manifest_key, cold, cold_key(source, manifest_key))
        record_state(lake, source, load_id, "copied", {"objects": len(manifest.objects)})
        hook("copied")
    for obj in manifest.objects:
        bronze.delete(obj.path)
        hook("object-deleted")
    _audit(audit, lake, manifest, direction="bronze->cold")
    record_state(lake, source, load_id, "archived", {"to": cold.url})
    hook("archived")


def restore(
    lake: Lake,
    load_id: str,
    *,
    source: str | None = None,
    dry_run: bool = False,
    audit: AuditTrail | None = None,
    hook: Hook = _no_hook,
) -> Move:
    """Bring an archived load back into bronze (resuming an interrupted restore)."""
    manifest = _find_manifest(lake, load_id, source)
    source = manifest.source
    bronze, cold = lake.bronze(source), lake.layer("cold")
    state = load_state(lake, source, load_id)
    if state in (None, "restored"):
        return _move(manifest, "already in bronze")
    if dry_run:
        return _move(manifest, "would restore")
    if state == "archived":
        present = bronze.list()
        for obj in manifest.objects:
            _copy_verified(
                cold,
                cold_key(source, obj.path),
                bronze,
                obj.path,
                obj.sha256,
                present=present,
                write_once=True,
            )
            hook("object-copied")
        record_state(lake, source, load_id, "restore-copied", {"objects": len(manifest.objects)})
        hook("restore-copied")
    # From "restore-copied" (or from "copied": an archive cut short, whose bronze objects are all there).
    for obj in manifest.objects:
        if bronze.sha256(obj.path) != obj.sha256:
            raise LakeError(f"{bronze.url_of(obj.path)} does not match its manifest; cold copies kept")
    for obj in manifest.objects:
        cold.delete(cold_key(source, obj.path))
        hook("object-deleted")
    _audit(audit, lake, manifest, direction="cold->bronze")
    record_state(lake, source, load_id, "restored", {"to": bronze.url})
    return _move(manifest, "restored")


def _copy_verified(
    source: Store,
    key: str,
    target: Store,
    target_key: str,
    sha256: str,
    *,
    present: dict[str, int],
    write_once: bool = False,
) -> None:
    """Copy one object unless an intact copy is already there (`present`: the target's listing), then
    check the copy's SHA-256 against the manifest."""
    if target_key in present:
        if target.sha256(target_key) == sha256:
            return
        if write_once:
            raise LakeError(
                f"{target.url_of(target_key)} exists with another checksum than its manifest; bronze "
                "objects are never overwritten. Run `cofre lake verify` and investigate before restoring."
            )
    source.copy_to(key, target, target_key)
    if target.sha256(target_key) != sha256:
        altered = source.sha256(key) != sha256
        raise LakeError(
            f"the copy {target.url_of(target_key)} does not match its manifest"
            + (f" because its source {source.url_of(key)} was altered" if altered else "")
            + "; the source was kept. Run `cofre lake verify`."
        )


def _find_manifest(lake: Lake, load_id: str, source: str | None) -> Manifest:
    for name in [source] if source else lake.sources():
        if lake.bronze(name).exists(lake.manifest_key(load_id)):
            return lake.manifest(name, load_id)
    raise LakeError(f"no load {load_id} in the lake {lake.url}; `cofre lake verify` lists the loads")


def _move(manifest: Manifest, outcome: str) -> Move:
    return Move(
        manifest.source,
        manifest.load_id,
        len(manifest.objects),
        manifest.bytes,
        manifest.created_at,
        outcome,
    )


def _audit(audit: AuditTrail | None, lake: Lake, manifest: Manifest, *, direction: str) -> None:
    if audit is None:
        return
    audit.record(
        "lifecycle.move",
        target=f"bronze/{manifest.source}/{manifest.load_id}",
        details={
            "direction": direction,
            "objects": len(manifest.objects),
            "bytes": manifest.bytes,
            "bronze": lake.bronze(manifest.source).url,
            "cold": lake.layer("cold").url,
        },
    )


# -- the same policy, done by the S3 server ------------------------------------------------------------


def s3_lifecycle_rules(
    lake: Lake,
    *,
    retention_days: int,
    storage_class: str | None = "GLACIER",
    expiration_days: int | None = None,
) -> dict[str, Any]:
    """An S3 bucket lifecycle configuration (boto3 / `mc ilm import` JSON shape) for the lake's bronze.

    `storage_class` is the transition target (an AWS class such as GLACIER, or the name of a MinIO remote
    tier added with `mc admin tier add`); `expiration_days`, when given, deletes objects outright. The
    server applies it by object age, not load age, and keeps no manifest, journal or audit event.
    """
    if urlsplit_scheme(lake.url) != "s3":
        raise LakeError("an S3 lifecycle configuration needs a lake on S3 (s3://bucket/prefix)")
    bucket, _, prefix = lake.layer_url("bronze").removeprefix("s3://").partition("/")
    rule: dict[str, Any] = {
        "ID": f"cofre-bronze-retention-{retention_days}d",
        "Status": "Enabled",
        "Filter": {"Prefix": f"{prefix}/"},
    }
    if storage_class:
        rule["Transitions"] = [{"Days": retention_days, "StorageClass": storage_class}]
    if expiration_days is not None:
        if expiration_days <= retention_days and storage_class:
            raise LakeError("expiration must come after the transition (expiration_days > retention_days)")
        rule["Expiration"] = {"Days": expiration_days}
    if "Transitions" not in rule and "Expiration" not in rule:
        raise LakeError("give a storage class to transition to, an expiration, or both")
    return {"Bucket": bucket, "LifecycleConfiguration": {"Rules": [rule]}}


def s3_lifecycle_xml(config: dict[str, Any]) -> str:
    """The same configuration as the XML document of `PutBucketLifecycleConfiguration`."""
    root = ET.Element("LifecycleConfiguration", xmlns="http://s3.amazonaws.com/doc/2006-03-01/")
    for rule in config["LifecycleConfiguration"]["Rules"]:
        node = ET.SubElement(root, "Rule")
        ET.SubElement(node, "ID").text = rule["ID"]
        ET.SubElement(ET.SubElement(node, "Filter"), "Prefix").text = rule["Filter"]["Prefix"]
        ET.SubElement(node, "Status").text = rule["Status"]
        for transition in rule.get("Transitions", []):
            t = ET.SubElement(node, "Transition")
            ET.SubElement(t, "Days").text = str(transition["Days"])
            ET.SubElement(t, "StorageClass").text = transition["StorageClass"]
        if "Expiration" in rule:
            ET.SubElement(ET.SubElement(node, "Expiration"), "Days").text = str(rule["Expiration"]["Days"])
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def urlsplit_scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else "file"


def to_json(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=2)
