"""The weather source through a real dlt pipeline into DuckDB, against the local fake of OpenWeather."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.pipeline.pipeline import Pipeline

from ingestion.http_client import SourceHTTPError, SourceResponseError
from ingestion.openweather import CAPITALS, Capital, openweather_source
from ingestion.replay import OPENWEATHER_401, OPENWEATHER_URL, replay_session
from tests.fakes.api_server import (
    API_KEY,
    WEATHER_PATH,
    FakeApiServer,
    find_cause,
    local_pipeline,
    quiet_local_dlt,
    rate_limited_429,
)

pytestmark = pytest.mark.integration

FAST: dict[str, Any] = {"timeout": 1.0, "retries": 2, "backoff_base": 0.01}
WRONG_KEY = "wrong-key-0d9f8e7c6b5a"


@pytest.fixture(autouse=True)
def _local_dlt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    quiet_local_dlt(monkeypatch, tmp_path)


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer() as fake:
        yield fake


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    return local_pipeline(tmp_path, "weather_test")


def run(
    pipeline: Pipeline,
    server: FakeApiServer,
    api_key: str = API_KEY,
    capitals: tuple[Capital, ...] = CAPITALS,
) -> None:
    source = openweather_source(
        api_key=api_key, base_url=server.base_url, session=requests.Session(), capitals=capitals, **FAST
    )
    pipeline.run(source)


def loaded(pipeline: Pipeline) -> list[dict[str, Any]]:
    with pipeline.sql_client() as client, client.execute_query("select * from current_weather") as cursor:
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return sorted(rows, key=lambda row: row["state"])


def test_loads_one_flat_row_per_capital(pipeline: Pipeline, server: FakeApiServer) -> None:
    run(pipeline, server)

    rows = loaded(pipeline)
    assert [(r["state"], r["city"]) for r in rows] == sorted((c.state, c.city) for c in CAPITALS)
    sao_paulo = next(r for r in rows if r["state"] == "SP")
    answer = server.weather["São Paulo"]
    assert sao_paulo["city"] == "São Paulo" and sao_paulo["city_id"] == answer["id"]
    assert sao_paulo["observed_at"] == datetime.fromtimestamp(answer["dt"], UTC)
    assert (sao_paulo["temp_c"], sao_paulo["feels_like_c"]) == (
        answer["main"]["temp"],
        answer["main"]["feels_like"],
    )
    assert isinstance(sao_paulo["temp_c"], float)  # the fake answers a whole number: still a double
    assert (sao_paulo["temp_min_c"], sao_paulo["temp_max_c"]) == (
        answer["main"]["temp_min"],
        answer["main"]["temp_max"],
    )
    assert (sao_paulo["pressure_hpa"], sao_paulo["humidity_pct"]) == (
        answer["main"]["pressure"],
        answer["main"]["humidity"],
    )
    assert (sao_paulo["wind_speed_ms"], sao_paulo["wind_deg"]) == (3.5, answer["wind"]["deg"])
    assert (sao_paulo["clouds_pct"], sao_paulo["visibility_m"]) == (20, 10000)
    assert (sao_paulo["weather_main"], sao_paulo["weather_description"]) == ("Clouds", "algumas nuvens")
    assert (sao_paulo["lat"], sao_paulo["lon"]) == (answer["coord"]["lat"], answer["coord"]["lon"])
    assert {r["origin"] for r in rows} == {"live"}

    asked = server.requests_to(WEATHER_PATH)
    assert [r.query for r in asked] == [
        {"q": f"{c.city},BR", "appid": API_KEY, "units": "metric", "lang": "pt_br"} for c in CAPITALS
    ]


def test_running_twice_on_the_same_observations_merges(pipeline: Pipeline, server: FakeApiServer) -> None:
    run(pipeline, server)
    server.weather["Recife"] = {**server.weather["Recife"], "dt": server.weather["Recife"]["dt"] + 600}

    run(pipeline, server)

    rows = loaded(pipeline)
    assert len(rows) == 28  # 26 unchanged observations merged, Recife has a new one
    assert len({(r["city_id"], r["observed_at"]) for r in rows}) == 28


def test_an_invalid_key_fails_clearly_without_revealing_it(
    pipeline: Pipeline, server: FakeApiServer, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PipelineStepFailed) as failed:
        run(pipeline, server, api_key=WRONG_KEY)

    error = find_cause(failed.value, SourceHTTPError)
    assert isinstance(error, SourceHTTPError) and error.status == 401
    assert "API key was rejected" in str(error) and "cofre vault set openweather_api_key" in str(error)
    assert "appid=***" in str(error)
    assert len(server.requests_to(WEATHER_PATH)) == 1  # a refused key is not retried
    trace = pipeline.last_trace
    assert trace is not None
    everything_said = [
        "".join(traceback.format_exception(failed.value)),
        caplog.text,
        str(trace),
        repr(trace.asdict()),
        *(p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()),
    ]
    assert "urllib3" in caplog.text  # the request line was logged, with the key masked
    assert not [text for text in everything_said if WRONG_KEY in text]


def test_a_429_is_retried_after_the_time_the_service_asks(pipeline: Pipeline, server: FakeApiServer) -> None:
    server.queue(rate_limited_429(retry_after_s=1))

    run(pipeline, server)

    first, second = server.requests_to(WEATHER_PATH)[:2]
    assert first.query == second.query
    assert second.at - first.at >= 1.0
    assert len(loaded(pipeline)) == 27


def test_an_unknown_city_fails_naming_it(pipeline: Pipeline, server: FakeApiServer) -> None:
    capitals = (Capital("SP", "São Paulo"), Capital("XX", "Cidade Inexistente"))

    with pytest.raises(PipelineStepFailed) as failed:
        run(pipeline, server, capitals=capitals)

    error = find_cause(failed.value, SourceHTTPError)
    assert isinstance(error, SourceHTTPError) and error.status == 404
    assert "no city named 'Cidade Inexistente'" in str(error) and "city not found" in str(error)
    assert len(server.requests_to(WEATHER_PATH)) == 2


def test_a_reading_without_a_required_field_fails_naming_it(
    pipeline: Pipeline, server: FakeApiServer
) -> None:
    broken = server.weather["Recife"]
    server.weather["Recife"] = {**broken, "main": {**broken["main"], "temp": "quente"}}

    with pytest.raises(PipelineStepFailed) as failed:
        run(pipeline, server)

    message = str(find_cause(failed.value, SourceResponseError))
    assert "field 'main.temp' has value 'quente' for 'Recife'" in message


def test_an_empty_key_is_refused_before_any_request(server: FakeApiServer) -> None:
    with pytest.raises(ValueError, match="cofre vault set openweather_api_key"):
        openweather_source(api_key="", base_url=server.base_url)
    assert server.requests == []


def test_replay_loads_the_27_capitals_labelled_as_snapshot(pipeline: Pipeline) -> None:
    pipeline.run(openweather_source(api_key="replay-needs-any-key", session=replay_session()))

    rows = loaded(pipeline)
    assert len(rows) == 27 and {r["state"] for r in rows} == {c.state for c in CAPITALS}
    assert {r["origin"] for r in rows} == {"snapshot:openweather-2026-11"}
    sao_paulo = next(r for r in rows if r["state"] == "SP")
    assert (sao_paulo["city"], sao_paulo["city_id"]) == ("São Paulo", 3448439)
    assert (round(sao_paulo["lat"], 1), round(sao_paulo["lon"], 1)) == (-23.5, -46.6)
    assert all(r["weather_description"] and r["temp_c"] is not None for r in rows)


def test_replay_answers_the_real_401_without_a_key() -> None:
    response = replay_session().get(
        f"{OPENWEATHER_URL}/data/2.5/weather", params={"q": "Recife,BR", "appid": "", "units": "metric"}
    )

    assert response.status_code == 401 and response.json() == OPENWEATHER_401


def test_replay_never_reaches_the_network() -> None:
    with pytest.raises(requests.ConnectionError, match="replay mode serves only") as refused:
        replay_session().get("https://example.org/data/2.5/weather", params={"appid": WRONG_KEY})
    assert WRONG_KEY not in str(refused.value)
