"""A real local HTTP server that speaks BCB SGS (series 433) and OpenWeather current weather.

Tests point the sources' `base_url` at it, so requests go through `requests`, sockets and timeouts like
in production. Each test can queue canned failures (HTML 500, a response slower than the client's
timeout, the real 401 body, 429 with Retry-After, 404 city not found) that are served, in order, before
the normal answers; every request's path and query is recorded for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dlt
import pytest
from dlt.pipeline.pipeline import Pipeline

from ingestion.openweather import CAPITALS

HOST = "127.0.0.1"
SGS_PATH = "/dados/serie/bcdata.sgs.433/dados"
WEATHER_PATH = "/data/2.5/weather"
API_KEY = "test-owm-key-7f3a9c1e"

# DATA.md section 2: the published monthly IPCA values (%), independent of the replay fixture.
IPCA_VALUES = {
    2016: "1.27 0.90 0.43 0.61 0.78 0.35 0.52 0.44 0.08 0.26 0.18 0.30",
    2017: "0.38 0.33 0.25 0.14 0.31 -0.23 0.24 0.19 0.16 0.42 0.28 0.44",
    2018: "0.29 0.32 0.09 0.22 0.40 1.26 0.33 -0.09 0.48 0.45 -0.21 0.15",
}
IPCA_ROWS = [
    {"data": f"01/{month:02d}/{year}", "valor": value}
    for year, values in IPCA_VALUES.items()
    for month, value in enumerate(values.split(), start=1)
]

HTML_500 = (
    "<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head><body>"
    "<h1>Internal Server Error</h1><p>The server encountered an internal error." + " padding" * 400 + "</p>"
    "</body></html>"
)
OPENWEATHER_401 = {
    "cod": 401,
    "message": "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info.",
}
OPENWEATHER_404 = {"cod": "404", "message": "city not found"}
OPENWEATHER_429 = {
    "cod": 429,
    "message": "Your account is temporary blocked due to exceeding of requests limitation of your "
    "subscription type. Please choose the proper subscription https://openweathermap.org/price",
}


@dataclass(frozen=True)
class Canned:
    """One scripted answer, served instead of the normal one."""

    status: int
    body: str = ""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def html_500() -> Canned:
    return Canned(500, HTML_500, content_type="text/html; charset=utf-8")


def slow(delay_s: float) -> Canned:
    """A normal-looking 200 that arrives after `delay_s`, longer than the client's timeout."""
    return Canned(200, "[]", delay_s=delay_s)


def unauthorized_401() -> Canned:
    return Canned(401, json.dumps(OPENWEATHER_401))


def rate_limited_429(retry_after_s: int) -> Canned:
    return Canned(429, json.dumps(OPENWEATHER_429), headers={"Retry-After": str(retry_after_s)})


def city_not_found_404() -> Canned:
    return Canned(404, json.dumps(OPENWEATHER_404))


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    query: dict[str, str]
    at: float


def weather_body(city: str, index: int) -> dict[str, Any]:
    """A current-weather answer in the real format, with values derived from the capital's index."""
    return {
        "coord": {"lon": -40.0 - index, "lat": -3.0 - index},
        "weather": [{"id": 801, "main": "Clouds", "description": "algumas nuvens", "icon": "02d"}],
        "base": "stations",
        "main": {
            "temp": 20 + index,  # a whole number on purpose: real answers have them too
            "feels_like": 20.5 + index,
            "temp_min": 19.25 + index,
            "temp_max": 21.75 + index,
            "pressure": 1010 + index,
            "humidity": 40 + index,
        },
        "visibility": 10000,
        "wind": {"speed": 3.5, "deg": 10 * index},
        "clouds": {"all": 20},
        "dt": 1_794_852_000 + 60 * index,
        "sys": {
            "type": 2,
            "id": 8000 + index,
            "country": "BR",
            "sunrise": 1_794_822_000,
            "sunset": 1_794_868_000,
        },
        "timezone": -10800,
        "id": 3_400_000 + index,
        "name": city,
        "cod": 200,
    }


class FakeApiServer:
    """Both APIs on 127.0.0.1, on a free port, in a background thread."""

    def __init__(self, api_key: str = API_KEY, sgs_empty_status: int = 200) -> None:
        self.api_key = api_key
        self.ipca_rows: list[dict[str, str]] = list(IPCA_ROWS)
        self.weather = {c.city: weather_body(c.city, i) for i, c in enumerate(CAPITALS)}
        self.sgs_empty_status = sgs_empty_status  # the real SGS answers an empty range with [] or 404
        self.requests: list[RecordedRequest] = []
        self._canned: deque[Canned] = deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self._httpd.server_address[1]}"

    def queue(self, *answers: Canned) -> None:
        """Serve these answers, one per request, before answering normally again."""
        with self._lock:
            self._canned.extend(answers)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def __enter__(self) -> FakeApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def answer(self, raw_path: str) -> Canned:
        """Record the request, then pick the canned or normal answer."""
        parts = urlsplit(raw_path)
        query = {name: values[0] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
        with self._lock:
            self.requests.append(RecordedRequest(parts.path, query, time.monotonic()))
            if self._canned:
                return self._canned.popleft()
        if parts.path == SGS_PATH:
            return self._sgs(query)
        if parts.path == WEATHER_PATH:
            return self._weather(query)
        return Canned(404, "<html><head><title>404 Not Found</title></head></html>", content_type="text/html")

    def _sgs(self, query: dict[str, str]) -> Canned:
        start = _sgs_date(query.get("dataInicial"), date.min)
        end = _sgs_date(query.get("dataFinal"), date.max)
        rows = [row for row in self.ipca_rows if start <= _sgs_date(row["data"], start) <= end]
        if not rows and self.sgs_empty_status == 404:
            return Canned(404, json.dumps({"error": "Valor não encontrado", "tag": "404"}))
        return Canned(200, json.dumps(rows))

    def _weather(self, query: dict[str, str]) -> Canned:
        if query.get("appid") != self.api_key:
            return unauthorized_401()
        city, _, _country = query.get("q", "").partition(",")
        body = self.weather.get(city)
        return Canned(200, json.dumps(body, ensure_ascii=False)) if body else city_not_found_404()


def _sgs_date(raw: str | None, default: date) -> date:
    """A dd/MM/yyyy date; `default` when absent or malformed (so tests can serve malformed rows)."""
    try:
        return datetime.strptime(raw or "", "%d/%m/%Y").date()
    except ValueError:
        return default


def _handler_for(server: FakeApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # header and body go in separate writes: avoid 40 ms stalls

        def do_GET(self) -> None:
            answer = server.answer(self.path)
            if answer.delay_s:
                time.sleep(answer.delay_s)
            body = answer.body.encode("utf-8")
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test): nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: request lines hold the API key."""

    return Handler


def quiet_local_dlt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep dlt local, quiet and fast: no telemetry, no Airflow secrets provider (importing Airflow
    costs seconds), and AIRFLOW_HOME confined to tmp_path in case anything imports it anyway."""
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.setenv("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))


def local_pipeline(tmp_path: Path, name: str) -> Pipeline:
    """A real dlt pipeline into a DuckDB file under tmp_path."""
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        dataset_name="raw",
        pipelines_dir=str(tmp_path / "dlt"),
    )


def find_cause(exc: BaseException, kind: type[BaseException]) -> BaseException:
    """The first exception of `kind` in the chain dlt wraps around a resource's error."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    raise AssertionError(f"no {kind.__name__} in the chain of {exc!r}")
