"""Current weather in the 27 Brazilian state capitals (OpenWeather current weather API), as a dlt source.

One request per capital, sequential and kept under the free tier's quota of 60 calls per minute. The
API key is a secret: it is sent only as the `appid` query parameter, which the HTTP client masks in
every message and log line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt
import requests
from dlt.common.schema.typing import TColumnSchema, TDataType, TTableSchemaColumns
from dlt.extract.resource import DltResource

from ingestion.http_client import (
    DEFAULT_POLICY,
    HttpPolicy,
    JsonResponse,
    RateLimiter,
    SourceResponseError,
    get_json,
)

OPENWEATHER_BASE_URL = "https://api.openweathermap.org"
SERVICE = "OpenWeather current weather"
FREE_TIER_CALLS_PER_MINUTE = 60
SECRET_PARAMS = ("appid",)


@dataclass(frozen=True)
class Capital:
    """A state capital: its state code and its name as OpenWeather knows it (accents included)."""

    state: str
    city: str


CAPITALS: tuple[Capital, ...] = tuple(
    Capital(state, city)
    for state, city in (
        ("AC", "Rio Branco"),
        ("AL", "Maceió"),
        ("AP", "Macapá"),
        ("AM", "Manaus"),
        ("BA", "Salvador"),
        ("CE", "Fortaleza"),
        ("DF", "Brasília"),
        ("ES", "Vitória"),
        ("GO", "Goiânia"),
        ("MA", "São Luís"),
        ("MT", "Cuiabá"),
        ("MS", "Campo Grande"),
        ("MG", "Belo Horizonte"),
        ("PA", "Belém"),
        ("PB", "João Pessoa"),
        ("PR", "Curitiba"),
        ("PE", "Recife"),
        ("PI", "Teresina"),
        ("RJ", "Rio de Janeiro"),
        ("RN", "Natal"),
        ("RS", "Porto Alegre"),
        ("RO", "Porto Velho"),
        ("RR", "Boa Vista"),
        ("SC", "Florianópolis"),
        ("SP", "São Paulo"),
        ("SE", "Aracaju"),
        ("TO", "Palmas"),
    )
)


def _col(data_type: TDataType, description: str, nullable: bool = True) -> TColumnSchema:
    return {"data_type": data_type, "nullable": nullable, "description": description}


# Declared so a whole-number reading (temp 25 instead of 25.3) cannot make dlt infer bigint first.
WEATHER_COLUMNS: TTableSchemaColumns = {
    "state": _col("text", "State code (UF) of the capital.", nullable=False),
    "city": _col("text", "Capital name as requested.", nullable=False),
    "city_id": _col("bigint", "OpenWeather city id.", nullable=False),
    "observed_at": _col("timestamp", "Time of the observation (dt), UTC.", nullable=False),
    "temp_c": _col("double", "Temperature, °C."),
    "feels_like_c": _col("double", "Apparent temperature, °C."),
    "temp_min_c": _col("double", "Minimum temperature observed in the area now, °C."),
    "temp_max_c": _col("double", "Maximum temperature observed in the area now, °C."),
    "pressure_hpa": _col("bigint", "Sea-level atmospheric pressure, hPa."),
    "humidity_pct": _col("bigint", "Relative humidity, %."),
    "wind_speed_ms": _col("double", "Wind speed, m/s."),
    "wind_deg": _col("bigint", "Wind direction, degrees."),
    "clouds_pct": _col("bigint", "Cloudiness, %."),
    "visibility_m": _col("bigint", "Visibility, metres (absent in some answers)."),
    "weather_main": _col("text", "Weather group (Clear, Clouds, Rain...)."),
    "weather_description": _col("text", "Weather description in Portuguese."),
    "lat": _col("double", "Latitude of the city."),
    "lon": _col("double", "Longitude of the city."),
    "origin": _col("text", "'live' or the snapshot label.", nullable=False),
}


@dlt.source(name="openweather")
def openweather_source(
    api_key: str = dlt.secrets.value,
    base_url: str = OPENWEATHER_BASE_URL,
    session: requests.Session | None = None,
    capitals: Sequence[Capital] = CAPITALS,
    timeout: float = DEFAULT_POLICY.timeout_s,
    retries: int = DEFAULT_POLICY.retries,
    backoff_base: float = DEFAULT_POLICY.backoff_base_s,
    calls_per_minute: int = FREE_TIER_CALLS_PER_MINUTE,
) -> DltResource:
    """The `current_weather` resource for `capitals`.

    `base_url` is the scheme and host; `session` decides live or replay (a new plain session when
    omitted). The key comes as an argument or from a secrets provider the caller registered. `timeout`,
    `retries` and `backoff_base` (seconds, doubled at each retry) tune the HTTP client; calls are paced
    to `calls_per_minute`.
    """
    if not api_key:
        raise ValueError(_missing_key_advice("No OpenWeather API key was given"))
    return current_weather(
        _Client(
            session or requests.Session(),
            base_url.rstrip("/"),
            HttpPolicy(timeout_s=timeout, retries=retries, backoff_base_s=backoff_base),
            api_key,
        ),
        capitals,
        calls_per_minute,
    )


@dataclass(frozen=True)
class _Client:
    """What one run needs to ask for a capital's weather; its repr hides the key."""

    session: requests.Session
    base_url: str
    policy: HttpPolicy
    api_key: str = field(repr=False)

    def fetch(self, capital: Capital) -> JsonResponse:
        params = {"q": f"{capital.city},BR", "appid": self.api_key, "units": "metric", "lang": "pt_br"}
        return get_json(
            self.session,
            f"{self.base_url}/data/2.5/weather",
            params,
            service=SERVICE,
            secret_params=SECRET_PARAMS,
            advice=_advice(capital),
            policy=self.policy,
        )


@dlt.resource(
    name="current_weather",
    primary_key=("city_id", "observed_at"),
    write_disposition="merge",
    columns=WEATHER_COLUMNS,
)
def current_weather(
    client: _Client, capitals: Sequence[Capital], calls_per_minute: int
) -> Iterator[dict[str, Any]]:
    """One row per capital: the latest observation, flattened."""
    limiter = RateLimiter(calls_per_minute)
    for capital in capitals:
        limiter.wait()
        response = client.fetch(capital)
        yield _flatten(capital, response.data, response.origin)


def _advice(capital: Capital) -> dict[int, str]:
    return {
        401: _missing_key_advice(
            "The OpenWeather API key was rejected (invalid, or too new to be active yet)"
        ),
        404: (
            f"OpenWeather found no city named {capital.city!r} in Brazil ({capital.state}): "
            "check the spelling, accents included, in the capitals passed to the source."
        ),
        429: (
            f"The free tier allows {FREE_TIER_CALLS_PER_MINUTE} calls per minute: wait a minute, "
            "and do not run several weather loads at once."
        ),
    }


def _missing_key_advice(what: str) -> str:
    return f"{what}. Store a valid key with `cofre vault set openweather_api_key`, then run again."


def _flatten(capital: Capital, body: Any, origin: str) -> dict[str, Any]:
    """The nested current-weather answer as one row; a missing or malformed required field fails loudly."""
    if not isinstance(body, dict):
        raise SourceResponseError(
            f"{SERVICE}: expected a JSON object for {capital.city!r}, got {body!r:.120}."
        )
    fields = _Fields(body, capital.city)
    weather = (body.get("weather") or [{}])[0]
    weather = weather if isinstance(weather, dict) else {}
    return {
        "state": capital.state,
        "city": capital.city,
        "city_id": fields.number("id", int),
        "observed_at": datetime.fromtimestamp(fields.number("dt", int), UTC),
        "temp_c": fields.number("main.temp", float),
        "feels_like_c": fields.number("main.feels_like", float),
        "temp_min_c": fields.number("main.temp_min", float),
        "temp_max_c": fields.number("main.temp_max", float),
        "pressure_hpa": fields.number("main.pressure", int),
        "humidity_pct": fields.number("main.humidity", int),
        "wind_speed_ms": fields.number("wind.speed", float, required=False),
        "wind_deg": fields.number("wind.deg", int, required=False),
        "clouds_pct": fields.number("clouds.all", int, required=False),
        "visibility_m": fields.number("visibility", int, required=False),
        "weather_main": weather.get("main"),
        "weather_description": weather.get("description"),
        "lat": fields.number("coord.lat", float),
        "lon": fields.number("coord.lon", float),
        "origin": origin,
    }


@dataclass(frozen=True)
class _Fields:
    """Reads dotted paths of one answer, naming the field, value and city when one is unusable."""

    body: dict[str, Any]
    city: str

    def number(self, path: str, kind: type[int] | type[float], required: bool = True) -> Any:
        raw: Any = self.body
        for key in path.split("."):
            raw = raw.get(key) if isinstance(raw, dict) else None
        if raw is None and not required:
            return None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return kind(raw)
        raise SourceResponseError(
            f"{SERVICE}: field {path!r} has value {raw!r} for {self.city!r}, expected a number. "
            "The API format may have changed."
        )
