"""Replay mode: a `requests.Session` that answers the two public APIs from recorded snapshots.

The product must run offline (demos, CI, machines without internet), and the sources must run the
same code in both modes. So replay lives at the transport layer: transport adapters mounted for the
real base URLs answer like the real services (same paths, query parameters, bodies and error bodies)
from the fixtures in `ingestion/fixtures/`. Each response carries the snapshot's label in the
X-Cofre-Replay header, which the HTTP client turns into the rows' `origin`. Any other host is refused,
so a replay run can never reach the network.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import date, datetime
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from ingestion.http_client import REPLAY_HEADER

BCB_URL = "https://api.bcb.gov.br"
OPENWEATHER_URL = "https://api.openweathermap.org"
IPCA_FIXTURE = "bcb_sgs_433.json"
WEATHER_FIXTURE = "openweather_current.json"

OPENWEATHER_401 = {
    "cod": 401,
    "message": "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info.",
}
OPENWEATHER_404 = {"cod": "404", "message": "city not found"}
OPENWEATHER_400 = {"cod": "400", "message": "Nothing to geocode"}
_SGS_DATE = "%d/%m/%Y"
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}


def replay_session() -> requests.Session:
    """A session that serves BCB SGS series 433 and OpenWeather current weather from the snapshots."""
    session = requests.Session()
    session.mount("https://", RefuseNetworkAdapter())
    session.mount("http://", RefuseNetworkAdapter())
    session.mount(BCB_URL, SgsReplayAdapter(load_fixture(IPCA_FIXTURE)))
    session.mount(OPENWEATHER_URL, OpenWeatherReplayAdapter(load_fixture(WEATHER_FIXTURE)))
    return session


def load_fixture(name: str) -> dict[str, Any]:
    """A snapshot file: its `_label`, its `_snapshot` note and the recorded bodies."""
    fixture: dict[str, Any] = json.loads(files("ingestion").joinpath("fixtures", name).read_text("utf-8"))
    return fixture


class _OfflineAdapter(BaseAdapter):
    """A transport adapter that answers in-process: timeouts, TLS and proxies do not apply."""

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        return self.respond(request)

    def respond(self, request: requests.PreparedRequest) -> requests.Response:
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to release: no sockets are opened."""


class _SnapshotAdapter(_OfflineAdapter):
    """Builds real-looking `requests` responses labelled with the snapshot they come from."""

    def __init__(self, fixture: dict[str, Any]) -> None:
        super().__init__()
        self.label: str = fixture["_label"]

    def answer(self, request: requests.PreparedRequest) -> tuple[int, Any]:
        raise NotImplementedError

    def respond(self, request: requests.PreparedRequest) -> requests.Response:
        status, body = self.answer(request)
        response = requests.Response()
        response.status_code = status
        response.reason = _REASONS.get(status, "")
        response.headers = CaseInsensitiveDict(
            {"Content-Type": "application/json; charset=utf-8", REPLAY_HEADER: self.label}
        )
        response._content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        return response


class SgsReplayAdapter(_SnapshotAdapter):
    """BCB SGS: GET /dados/serie/bcdata.sgs.433/dados?formato=json&dataInicial=..&dataFinal=.."""

    def __init__(self, fixture: dict[str, Any]) -> None:
        super().__init__(fixture)
        self.rows: list[dict[str, str]] = fixture["body"]

    def answer(self, request: requests.PreparedRequest) -> tuple[int, Any]:
        parts = urlsplit(request.url or "")
        if request.method != "GET" or parts.path.rstrip("/") != "/dados/serie/bcdata.sgs.433/dados":
            return 404, {"error": "Serie nao encontrada", "path": parts.path}
        query = parse_qs(parts.query)
        try:
            start = _sgs_date(query, "dataInicial", date.min)
            end = _sgs_date(query, "dataFinal", date.max)
        except ValueError as exc:
            return 400, {"error": str(exc)}
        # Like the real service, an empty range answers an empty array.
        return 200, [row for row in self.rows if start <= _sgs_date_of(row["data"]) <= end]


class OpenWeatherReplayAdapter(_SnapshotAdapter):
    """OpenWeather: GET /data/2.5/weather?q={city},BR&appid=KEY&units=metric&lang=pt_br."""

    def __init__(self, fixture: dict[str, Any]) -> None:
        super().__init__(fixture)
        self.by_city = {_fold(city): body for city, body in fixture["responses"].items()}

    def answer(self, request: requests.PreparedRequest) -> tuple[int, Any]:
        parts = urlsplit(request.url or "")
        if request.method != "GET" or parts.path.rstrip("/") != "/data/2.5/weather":
            return 404, {"cod": 404, "message": "Internal error"}
        query = parse_qs(parts.query)
        if not query.get("appid", [""])[0]:
            return 401, OPENWEATHER_401
        q = query.get("q", [""])[0]
        if not q:
            return 400, OPENWEATHER_400
        city, _, country = q.partition(",")
        body = self.by_city.get(_fold(city))
        if body is None or country.strip().upper() not in ("", "BR"):
            return 404, OPENWEATHER_404
        return 200, body


class RefuseNetworkAdapter(_OfflineAdapter):
    """Fails every request to a host the snapshots do not cover, so replay mode stays offline."""

    def respond(self, request: requests.PreparedRequest) -> requests.Response:
        parts = urlsplit(request.url or "")  # the query may hold a secret: never shown
        raise requests.ConnectionError(
            f"replay mode serves only {BCB_URL} and {OPENWEATHER_URL}; refused {parts.scheme}://{parts.netloc}"
            f"{parts.path}. Use live mode to reach other services."
        )


def _sgs_date(query: dict[str, list[str]], name: str, default: date) -> date:
    raw = query.get(name, [""])[0]
    if not raw:
        return default
    try:
        return _sgs_date_of(raw)
    except ValueError:
        raise ValueError(f"{name} {raw!r} is not a dd/MM/yyyy date") from None


def _sgs_date_of(raw: str) -> date:
    return datetime.strptime(raw, _SGS_DATE).date()


def _fold(city: str) -> str:
    """Accent- and case-insensitive city key, as the real API matches "Sao Paulo" to São Paulo."""
    decomposed = unicodedata.normalize("NFKD", city.strip())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
