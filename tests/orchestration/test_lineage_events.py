"""The lineage hook on its own (no pipeline): START/COMPLETE/FAIL of steps and of the run, the HTTP
transport when `lineage_url` is set, and a lineage failure that never fails the step."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from orchestration.graph import Step, StepContext, StepResult, TableCount
from orchestration.lineage import lineage_file, observe
from orchestration.settings import Settings


def _context(settings: Settings) -> StepContext:
    return StepContext(settings=settings, run_id="r1", reporter=SimpleNamespace(), services=SimpleNamespace())  # type: ignore[arg-type]


def _events(settings: Settings) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lineage_file(settings).read_text().splitlines()]


def _load_gold(ctx: StepContext) -> StepResult:
    return StepResult(counts=[TableCount("gold", "sales_daily", 3)])


def _fails(ctx: StepContext) -> StepResult:
    raise RuntimeError("gate failed: 2 rows")


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "event": json.loads(body)})
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_steps_and_run_emit_start_and_complete_to_file_and_http(
    tmp_path: Path, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = receiver
    settings = Settings(home=tmp_path / "home", lineage_url=url)
    steps = observe([Step("load_gold", "load", _load_gold)], settings)
    steps[0].run(_context(settings))
    events = _events(settings)
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("run", "START"),
        ("load_gold", "START"),
        ("load_gold", "COMPLETE"),
        ("run", "COMPLETE"),
    ]
    complete = events[2]
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [
        ("file", f"{settings.lake_dir}/gold/sales_daily")
    ]
    [output] = complete["outputs"]
    assert output["name"] == "cofre.gold.sales_daily"
    assert output["namespace"] == f"duckdb://{settings.warehouse_path}"
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 3
    assert complete["run"]["facets"]["parent"]["run"]["runId"] == events[0]["run"]["runId"]
    assert [r["path"] for r in received] == ["/api/v1/lineage"] * 4
    assert [r["event"]["eventType"] for r in received] == ["START", "START", "COMPLETE", "COMPLETE"]


def test_a_failed_step_fails_its_run(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    steps = observe(
        [Step("transform_marts", "dbt", _fails), Step("publish_marts", "publish", _load_gold)], settings
    )
    with pytest.raises(RuntimeError, match="gate failed"):
        steps[0].run(_context(settings))
    events = _events(settings)
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("run", "START"),
        ("transform_marts", "START"),
        ("transform_marts", "FAIL"),
        ("run", "FAIL"),
    ]
    assert "gate failed" in events[2]["run"]["facets"]["errorMessage"]["message"]


def test_an_unreachable_endpoint_never_fails_the_step(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", lineage_url="http://127.0.0.1:9")
    steps = observe([Step("load_gold", "load", _load_gold)], settings)
    started = time.monotonic()
    result = steps[0].run(_context(settings))
    assert result.counts and len(_events(settings)) == 4  # the file transport still has every event
    assert time.monotonic() - started < 15  # one failed endpoint is dropped, not retried for every event


def test_one_step_per_task_emits_no_run_events(tmp_path: Path) -> None:
    """Airflow runs one step per task: the step's events only, with the run as their parent."""
    settings = Settings(home=tmp_path / "home")
    [step] = observe([Step("load_gold", "load", _load_gold)], settings, run_events=False)
    step.run(_context(settings))
    events = _events(settings)
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("load_gold", "START"),
        ("load_gold", "COMPLETE"),
    ]
    assert events[1]["run"]["facets"]["parent"]["job"]["name"] == "run"
