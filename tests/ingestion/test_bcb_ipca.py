"""The IPCA source through a real dlt pipeline into DuckDB, against the local fake of the SGS API."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.pipeline.pipeline import Pipeline

from ingestion.bcb_ipca import BCB_BASE_URL, bcb_source
from ingestion.http_client import SourceHTTPError, SourceResponseError
from ingestion.replay import replay_session
from tests.fakes.api_server import (
    IPCA_ROWS,
    IPCA_VALUES,
    SGS_PATH,
    FakeApiServer,
    find_cause,
    html_500,
    local_pipeline,
    quiet_local_dlt,
    slow,
)

pytestmark = pytest.mark.integration

FAST: dict[str, Any] = {"timeout": 0.5, "retries": 3, "backoff_base": 0.01}


@pytest.fixture(autouse=True)
def _local_dlt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    quiet_local_dlt(monkeypatch, tmp_path)


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer() as fake:
        yield fake


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    return local_pipeline(tmp_path, "bcb_test")


def run(pipeline: Pipeline, server: FakeApiServer, start: str = "2016-01", end: str = "2018-12") -> None:
    pipeline.run(bcb_source(server.base_url, start, end, requests.Session(), **FAST))


def loaded(pipeline: Pipeline) -> list[dict[str, Any]]:
    names = ["month", "ipca_pct", "series_code", "origin", "fetched_at"]
    with pipeline.sql_client() as client:
        rows = client.execute_sql(f"select {', '.join(names)} from ipca order by month")
    return [dict(zip(names, row, strict=True)) for row in rows or []]


def published(year: int) -> list[Decimal]:
    return [Decimal(value) for value in IPCA_VALUES[year].split()]


def twelve_month_pct(values: list[Decimal]) -> float:
    factor = 1.0
    for value in values:
        factor *= 1 + float(value) / 100
    return (factor - 1) * 100


def test_loads_the_published_monthly_values(pipeline: Pipeline, server: FakeApiServer) -> None:
    run(pipeline, server)

    rows = loaded(pipeline)
    assert [r["month"] for r in rows] == [date(y, m, 1) for y in (2016, 2017, 2018) for m in range(1, 13)]
    assert [r["ipca_pct"] for r in rows] == published(2016) + published(2017) + published(2018)
    assert {(r["series_code"], r["origin"]) for r in rows} == {(433, "live")}
    assert all(abs(r["fetched_at"] - datetime.now(UTC)) < timedelta(minutes=1) for r in rows)
    by_year = {y: [r["ipca_pct"] for r in rows if r["month"].year == y] for y in (2016, 2017, 2018)}
    assert twelve_month_pct(by_year[2016]) == pytest.approx(6.29, abs=0.01)
    assert twelve_month_pct(by_year[2017]) == pytest.approx(2.95, abs=0.01)
    assert twelve_month_pct(by_year[2018]) == pytest.approx(3.75, abs=0.01)
    [request] = server.requests_to(SGS_PATH)
    assert request.query == {"formato": "json", "dataInicial": "01/01/2016", "dataFinal": "31/12/2018"}


def test_later_runs_ask_only_for_months_after_the_last_loaded(
    pipeline: Pipeline, server: FakeApiServer
) -> None:
    server.ipca_rows = IPCA_ROWS[:24]  # published up to 2017-12
    run(pipeline, server)
    first_fetch = loaded(pipeline)[0]["fetched_at"]

    server.ipca_rows = list(IPCA_ROWS)  # 2018 is published
    run(pipeline, server)
    after_2018 = loaded(pipeline)
    run(pipeline, server)  # up to date for this range: no request at all
    run(pipeline, server, end="2019-06")  # nothing published after 2018: the service answers []

    asked = [(r.query["dataInicial"], r.query["dataFinal"]) for r in server.requests_to(SGS_PATH)]
    assert asked == [("01/01/2016", "31/12/2018"), ("01/01/2018", "31/12/2018"), ("01/01/2019", "30/06/2019")]
    assert len(after_2018) == 36
    assert after_2018[0]["fetched_at"] == first_fetch  # 2016 was not fetched again
    assert [r["ipca_pct"] for r in after_2018[24:]] == published(2018)
    assert loaded(pipeline) == after_2018


def test_a_404_for_a_range_without_data_means_no_new_data(pipeline: Pipeline) -> None:
    with FakeApiServer(sgs_empty_status=404) as server:
        run(pipeline, server, start="2019-01", end="2019-03")

        [request] = server.requests_to(SGS_PATH)
    assert request.query["dataInicial"] == "01/01/2019"
    normalized = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    assert normalized is not None and "ipca" not in normalized.row_counts


def test_retries_a_500_with_an_html_body_then_loads(
    pipeline: Pipeline, server: FakeApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.queue(html_500(), html_500())
    caplog.set_level(logging.WARNING, logger="ingestion")

    run(pipeline, server)

    assert len(server.requests_to(SGS_PATH)) == 3
    assert len(loaded(pipeline)) == 36
    assert "HTML page titled '500 Internal Server Error'" in caplog.text
    assert "<h1>" not in caplog.text and "padding" not in caplog.text


def test_retries_a_response_slower_than_the_timeout_then_loads(
    pipeline: Pipeline, server: FakeApiServer
) -> None:
    server.queue(slow(FAST["timeout"] * 3))

    run(pipeline, server)

    assert len(server.requests_to(SGS_PATH)) == 2
    assert len(loaded(pipeline)) == 36


def test_gives_up_after_the_retries_with_a_short_clear_error(
    pipeline: Pipeline, server: FakeApiServer
) -> None:
    server.queue(*[html_500()] * (FAST["retries"] + 1))

    with pytest.raises(PipelineStepFailed) as failed:
        run(pipeline, server)

    error = find_cause(failed.value, SourceHTTPError)
    assert isinstance(error, SourceHTTPError) and error.status == 500
    message = str(error)
    assert message.startswith("BCB SGS (IPCA, series 433): HTTP 500")
    assert "gave up after 4 attempts" in message and "try again later" in message
    assert "<html" not in message.lower() and len(message) < 500


@pytest.mark.parametrize(
    ("row", "field", "value"),
    [
        ({"data": "01/01/2016", "valor": "1,27"}, "valor", "'1,27'"),
        ({"data": "2016-01-01", "valor": "1.27"}, "data", "'2016-01-01'"),
    ],
)
def test_an_invalid_row_fails_naming_the_field_and_value(
    pipeline: Pipeline, server: FakeApiServer, row: dict[str, str], field: str, value: str
) -> None:
    server.ipca_rows = [row]

    with pytest.raises(PipelineStepFailed) as failed:
        run(pipeline, server, end="2016-01")

    message = str(find_cause(failed.value, SourceResponseError))
    assert f"field '{field}' has value {value}" in message


def test_a_month_that_is_not_yyyy_mm_is_refused_before_any_request(server: FakeApiServer) -> None:
    with pytest.raises(ValueError, match="write it as YYYY-MM"):
        bcb_source(server.base_url, "jan/2016", "2018-12", requests.Session())
    assert server.requests == []


def test_replay_loads_the_36_snapshot_months_labelled_as_snapshot(pipeline: Pipeline) -> None:
    pipeline.run(bcb_source(BCB_BASE_URL, "2016-01", "2018-12", replay_session()))

    rows = loaded(pipeline)
    assert len(rows) == 36
    assert {r["origin"] for r in rows} == {"snapshot:bcb-sgs-433"}
    assert [r["ipca_pct"] for r in rows] == published(2016) + published(2017) + published(2018)
