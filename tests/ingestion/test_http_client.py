"""The shared HTTP helper against the local fake server: retries, waits, messages and secrecy."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from ingestion.http_client import (
    HttpPolicy,
    JsonResponse,
    RateLimiter,
    SourceHTTPError,
    SourceResponseError,
    get_json,
)
from ingestion.replay import BCB_URL, replay_session
from tests.fakes.api_server import (
    API_KEY,
    SGS_PATH,
    WEATHER_PATH,
    Canned,
    FakeApiServer,
    html_500,
    rate_limited_429,
    unauthorized_401,
)

POLICY = HttpPolicy(timeout_s=1.0, retries=3, backoff_base_s=0.5, max_wait_s=5.0)
KEY_PARAMS = {"q": "Recife,BR", "appid": API_KEY, "units": "metric", "lang": "pt_br"}


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer() as fake:
        yield fake


class Sleeps:
    """Records the waits instead of sleeping, so backoff can be asserted at full size."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def weather(server: FakeApiServer, sleeps: Sleeps, params: dict[str, str] = KEY_PARAMS) -> JsonResponse:
    return get_json(
        requests.Session(),
        f"{server.base_url}{WEATHER_PATH}",
        params,
        service="OpenWeather",
        secret_params=("appid",),
        policy=POLICY,
        sleep=sleeps,
    )


def test_backs_off_exponentially_on_5xx_then_returns_the_body(server: FakeApiServer) -> None:
    server.queue(html_500(), html_500(), html_500())
    sleeps = Sleeps()

    response = weather(server, sleeps)

    assert sleeps.waits == [0.5, 1.0, 2.0]
    assert response.status == 200 and response.origin == "live"
    assert response.data["name"] == "Recife"


def test_honours_retry_after_on_429_but_caps_the_wait(server: FakeApiServer) -> None:
    server.queue(rate_limited_429(retry_after_s=2), rate_limited_429(retry_after_s=3600))
    sleeps = Sleeps()

    weather(server, sleeps)

    assert sleeps.waits == [2.0, POLICY.max_wait_s]


def test_reads_retry_after_given_as_an_http_date(server: FakeApiServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    server.queue(Canned(429, "{}", headers={"Retry-After": when}))
    sleeps = Sleeps()

    weather(server, sleeps)

    [wait] = sleeps.waits
    assert 1.0 < wait <= 3.0


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_other_4xx_fail_at_once(server: FakeApiServer, status: int) -> None:
    server.queue(Canned(status, f'{{"cod": "{status}", "message": "nope"}}'))
    sleeps = Sleeps()

    with pytest.raises(SourceHTTPError) as failed:
        weather(server, sleeps)

    assert failed.value.status == status and sleeps.waits == []
    assert len(server.requests) == 1
    assert f"OpenWeather: HTTP {status}" in str(failed.value) and '"message": "nope"' in str(failed.value)


def test_a_service_that_keeps_failing_gives_a_short_message_with_advice(server: FakeApiServer) -> None:
    server.queue(*[html_500()] * 4)

    with pytest.raises(SourceHTTPError) as failed:
        weather(server, Sleeps())

    message = str(failed.value)
    assert "HTTP 500 Internal Server Error (HTML page titled '500 Internal Server Error'" in message
    assert "gave up after 4 attempts" in message and "try again later" in message
    assert "<h1>" not in message and "padding" not in message and API_KEY not in message
    assert failed.value.__cause__ is None and failed.value.__context__ is None


def test_the_caller_advice_replaces_the_generic_one(server: FakeApiServer) -> None:
    server.queue(unauthorized_401())

    with pytest.raises(SourceHTTPError) as failed:
        get_json(
            requests.Session(),
            f"{server.base_url}{WEATHER_PATH}",
            KEY_PARAMS,
            service="OpenWeather",
            secret_params=("appid",),
            advice={401: "Run `cofre vault set openweather_api_key`."},
            policy=POLICY,
        )

    assert str(failed.value).endswith("Run `cofre vault set openweather_api_key`.")
    assert "Invalid API key" in str(failed.value)


def test_secret_values_are_masked_in_the_url_and_in_echoed_bodies(server: FakeApiServer) -> None:
    server.queue(Canned(400, f'{{"message": "bad request for appid={API_KEY}"}}'))

    with pytest.raises(SourceHTTPError) as failed:
        weather(server, Sleeps())

    assert API_KEY not in str(failed.value) and API_KEY not in failed.value.url
    assert "appid=***" in failed.value.url and "appid=***" in str(failed.value)


def test_a_refused_connection_is_retried_then_reported_without_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    caplog.set_level(logging.DEBUG)

    with pytest.raises(SourceHTTPError) as failed:
        get_json(
            requests.Session(),
            f"http://127.0.0.1:{port}{WEATHER_PATH}",
            KEY_PARAMS,
            service="OpenWeather",
            secret_params=("appid",),
            policy=POLICY,
            sleep=sleeps,
        )

    assert failed.value.status is None and len(sleeps.waits) == POLICY.retries
    assert "connection failed" in str(failed.value)
    assert API_KEY not in str(failed.value) and API_KEY not in caplog.text


def test_urllib3_debug_lines_show_the_key_masked(
    server: FakeApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="urllib3")

    weather(server, Sleeps())

    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("urllib3") and WEATHER_PATH in r.getMessage()
    ]
    assert lines and all("appid=***" in line and API_KEY not in line for line in lines)


def test_a_body_that_is_not_json_is_a_response_error(server: FakeApiServer) -> None:
    server.queue(Canned(200, "<html><title>Manutenção</title></html>", content_type="text/html"))

    with pytest.raises(SourceResponseError, match=r"not JSON \(HTML page titled 'Manutenção'"):
        weather(server, Sleeps())


def test_a_replayed_answer_carries_the_snapshot_label() -> None:
    response = get_json(
        replay_session(),
        f"{BCB_URL}{SGS_PATH}",
        {"formato": "json", "dataInicial": "01/06/2018", "dataFinal": "31/08/2018"},
        service="BCB SGS",
    )

    assert response.origin == "snapshot:bcb-sgs-433"
    assert response.data == [
        {"data": "01/06/2018", "valor": "1.26"},
        {"data": "01/07/2018", "valor": "0.33"},
        {"data": "01/08/2018", "valor": "-0.09"},
    ]


def test_the_rate_limiter_waits_only_when_the_quota_is_used_up() -> None:
    now = [0.0]
    sleeps = Sleeps()

    def advance(seconds: float) -> None:
        sleeps(seconds)
        now[0] += seconds

    limiter = RateLimiter(3, period_s=60.0, clock=lambda: now[0], sleep=advance)
    for _ in range(3):
        limiter.wait()
        now[0] += 1.0
    assert sleeps.waits == []

    limiter.wait()  # the 4th call in the same minute waits until the 1st one is a minute old
    assert sleeps.waits == [57.0]
