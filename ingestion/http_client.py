"""GET JSON from a public API patiently, and fail with messages that never reveal a secret.

Both API sources share this helper so they behave the same way: transient failures (timeouts, dropped
connections, 5xx, 429) are retried with exponential backoff, honouring Retry-After on 429; other 4xx fail
at once. Every error names the service, the status, a short excerpt of the body and what to do.

Secrets travel in query strings (OpenWeather's `appid`), and `requests` puts the full URL in its own
messages (`raise_for_status()`, connection errors) while urllib3 logs it at DEBUG level. So this module
builds every URL it shows itself, with secret values as `***`, scrubs secret values from any text it
reports, raises its errors outside `except` blocks (dlt's trace records chained exceptions), and redacts
secret query parameters in urllib3's log records.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import unescape
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import requests

from ingestion.errors import IngestionError

log = logging.getLogger(__name__)

REPLAY_HEADER = "X-Cofre-Replay"
"""Response header set by the replay adapter; its value is the snapshot label a row's `origin` carries."""

LIVE_ORIGIN = "live"
MASK = "***"
EXCERPT_CHARS = 200
_NOT_JSON = object()


class SourceError(IngestionError):
    """A source could not produce rows; the message says what happened and what to do."""


class SourceHTTPError(SourceError):
    """A service failed or refused a request, after any retries."""

    def __init__(self, message: str, *, service: str, status: int | None, url: str) -> None:
        super().__init__(message)
        self.service = service
        self.status = status
        self.url = url  # already redacted


class SourceResponseError(SourceError):
    """A service answered successfully but the body is not in the format its contract promises."""


@dataclass(frozen=True)
class HttpPolicy:
    """How patiently to talk to a service; tests shrink `backoff_base_s` so retries cost milliseconds."""

    timeout_s: float = 20.0
    retries: int = 4
    backoff_base_s: float = 1.0
    max_wait_s: float = 60.0

    def backoff(self, retry: int) -> float:
        """Wait before retry number `retry` (1-based): base, 2*base, 4*base ... capped at `max_wait_s`."""
        return min(self.backoff_base_s * 2 ** (retry - 1), self.max_wait_s)


DEFAULT_POLICY = HttpPolicy()


@dataclass(frozen=True)
class JsonResponse:
    """A decoded JSON body and where it came from: `live` or the label of a replayed snapshot."""

    data: Any
    status: int
    origin: str


@dataclass(frozen=True)
class _Redactor:
    """Knows the secret values of one request and hides them in URLs and free text."""

    secret_params: frozenset[str]
    secret_values: tuple[str, ...]

    @classmethod
    def for_request(cls, params: Mapping[str, Any], secret_params: Collection[str]) -> _Redactor:
        values = (str(params[name]) for name in secret_params if name in params and str(params[name]))
        forms = {form for value in values for form in (value, quote(value, safe=""), quote_plus(value))}
        # Longest first, so a value is masked whole before any shorter value inside it.
        return cls(frozenset(secret_params), tuple(sorted(forms, key=len, reverse=True)))

    def url(self, url: str, params: Mapping[str, Any]) -> str:
        shown = {name: MASK if name in self.secret_params else value for name, value in params.items()}
        return f"{url}?{urlencode(shown, safe='*,/')}" if shown else url

    def text(self, text: str) -> str:
        for value in self.secret_values:
            text = text.replace(value, MASK)
        return text


def get_json(
    session: requests.Session,
    url: str,
    params: Mapping[str, Any],
    *,
    service: str,
    secret_params: Collection[str] = (),
    advice: Mapping[int, str] | None = None,
    policy: HttpPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> JsonResponse:
    """GET `url` with `params` and return its JSON body, retrying transient failures.

    `secret_params` names the query parameters whose values must never be shown; `advice` maps a status
    to the caller's instruction for it (e.g. 401 -> how to set the key). Raises SourceHTTPError when the
    service keeps failing or refuses the request, SourceResponseError when the body is not JSON.
    """
    redactor = _Redactor.for_request(params, secret_params)
    _redact_urllib3_logs(redactor.secret_params)
    shown_url = redactor.url(url, params)
    attempts = policy.retries + 1
    for attempt in range(1, attempts + 1):
        outcome = _send(session, url, params, policy.timeout_s, redactor)
        if isinstance(outcome, requests.Response) and outcome.ok:
            return _decode(outcome, service, shown_url, redactor)
        what = f"{service}: {_describe(outcome, redactor)} for GET {shown_url}"
        wait = _retry_wait(outcome, attempt, policy)
        if wait is None:
            raise _http_error(outcome, what, attempt, service, shown_url, advice or {})
        log.warning("%s; retrying in %.1f s (retry %d of %d)", what, wait, attempt, policy.retries)
        sleep(wait)
    raise AssertionError("unreachable: the last attempt either returns or raises")


@dataclass(frozen=True)
class _Failure:
    """A request that got no HTTP answer, described without secrets."""

    what: str
    retryable: bool


def _send(
    session: requests.Session, url: str, params: Mapping[str, Any], timeout_s: float, redactor: _Redactor
) -> requests.Response | _Failure:
    """One GET; a transport failure comes back as a redacted description rather than an exception."""
    try:
        return session.get(url, params=params, timeout=timeout_s, headers={"Accept": "application/json"})
    except requests.Timeout:
        return _Failure(f"no answer within {timeout_s:g} s (timeout)", retryable=True)
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        # These messages quote the request path and query: scrub them.
        return _Failure(f"connection failed ({redactor.text(_first_line(str(exc)))})", retryable=True)
    except requests.RequestException as exc:  # e.g. an invalid URL: retrying cannot help
        return _Failure(f"request failed ({redactor.text(_first_line(str(exc)))})", retryable=False)


def _retry_wait(outcome: requests.Response | _Failure, attempt: int, policy: HttpPolicy) -> float | None:
    """Seconds to wait before the next attempt, or None when the failure is final."""
    if attempt > policy.retries:
        return None
    if isinstance(outcome, _Failure):
        return policy.backoff(attempt) if outcome.retryable else None
    if outcome.status_code >= 500:
        return policy.backoff(attempt)
    if outcome.status_code == 429:
        asked = _retry_after_s(outcome.headers.get("Retry-After"))
        return policy.backoff(attempt) if asked is None else min(asked, policy.max_wait_s)
    return None


def _retry_after_s(value: str | None) -> float | None:
    """Parse Retry-After, which is either a number of seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _describe(outcome: requests.Response | _Failure, redactor: _Redactor) -> str:
    if isinstance(outcome, _Failure):
        return outcome.what
    reason = f" {outcome.reason}" if outcome.reason else ""
    return f"HTTP {outcome.status_code}{reason} ({redactor.text(_excerpt(outcome))})"


def _http_error(
    outcome: requests.Response | _Failure,
    what: str,
    attempt: int,
    service: str,
    shown_url: str,
    advice: Mapping[int, str],
) -> SourceHTTPError:
    status = None if isinstance(outcome, _Failure) else outcome.status_code
    tries = f" (gave up after {attempt} attempts)" if attempt > 1 else ""
    todo = advice.get(status) if status is not None else None
    message = f"{what}{tries}. {todo or _default_advice(outcome)}"
    return SourceHTTPError(message, service=service, status=status, url=shown_url)


def _default_advice(outcome: requests.Response | _Failure) -> str:
    if isinstance(outcome, _Failure) and not outcome.retryable:
        return "The request could not be sent: check the source's base URL."
    status = None if isinstance(outcome, _Failure) else outcome.status_code
    if status is None or status >= 500:
        return "The service is down or slow: try again later, or run in replay mode to work offline."
    if status == 429:
        return "The service's rate limit was passed: wait a minute before running again."
    if status in (401, 403):
        return "The service refused the credentials: check the key stored in the vault."
    return "The service refused the request: check the source's parameters (base URL, dates, names)."


def _excerpt(response: requests.Response) -> str:
    """A short, single-line view of a body; an HTML page is summarised by its title, not dumped."""
    content_type = response.headers.get("Content-Type", "")
    # Without a declared charset requests assumes ISO-8859-1 for text/*; these APIs speak UTF-8.
    text = response.text if "charset" in content_type.lower() else response.content.decode("utf-8", "replace")
    if "html" in content_type or text.lstrip()[:1] == "<":
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        name = f" titled '{_squash(unescape(title.group(1)))[:80]}'" if title else ""
        return f"HTML page{name}, {len(text)} characters"
    squashed = _squash(text) or "empty body"
    return squashed if len(squashed) <= EXCERPT_CHARS else squashed[:EXCERPT_CHARS] + "..."


def _decode(response: requests.Response, service: str, shown_url: str, redactor: _Redactor) -> JsonResponse:
    try:
        data = response.json()
    except ValueError:
        data = _NOT_JSON
    if data is _NOT_JSON:  # raised here, outside the except block, so no exception is chained
        raise SourceResponseError(
            f"{service}: GET {shown_url} answered {response.status_code} with a body that is not JSON "
            f"({redactor.text(_excerpt(response))}). The service may be in maintenance: try again later."
        )
    return JsonResponse(data, response.status_code, response.headers.get(REPLAY_HEADER, LIVE_ORIGIN))


def _squash(text: str) -> str:
    return " ".join(text.split())


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else text


class RateLimiter:
    """Keeps calls under a quota (e.g. OpenWeather's free tier: 60 per minute) without slowing runs below it.

    It waits only when `max_calls` calls already happened within the last `period_s` seconds, so 27 calls
    against a 60-per-minute quota never wait, while a longer list is paced to the quota.
    """

    def __init__(
        self,
        max_calls: int,
        period_s: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._max_calls = max_calls
        self._period_s = period_s
        self._clock = clock
        self._sleep = sleep
        self._recent: deque[float] = deque()

    def wait(self) -> None:
        """Block until one more call fits in the quota, then count it."""
        now = self._clock()
        while self._recent and now - self._recent[0] >= self._period_s:
            self._recent.popleft()
        if len(self._recent) >= self._max_calls:
            self._sleep(self._period_s - (now - self._recent[0]))
            self._recent.popleft()
            now = self._clock()
        self._recent.append(now)


class _RedactQueryFilter(logging.Filter):
    """Masks secret query parameters in urllib3's DEBUG lines ("GET /path?appid=... HTTP/1.1" 200)."""

    def __init__(self) -> None:
        super().__init__()
        self.params: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.params:
            names = "|".join(re.escape(name) for name in sorted(self.params))
            record.msg = re.sub(rf"([?&](?:{names})=)[^&\s\"']*", rf"\g<1>{MASK}", record.getMessage())
            record.args = None
        return True


_URLLIB3_FILTER = _RedactQueryFilter()


def _redact_urllib3_logs(secret_params: Collection[str]) -> None:
    """Install (once) the filter on urllib3's logger and register more secret parameter names."""
    if not secret_params:
        return
    urllib3_log = logging.getLogger("urllib3.connectionpool")
    if _URLLIB3_FILTER not in urllib3_log.filters:
        urllib3_log.addFilter(_URLLIB3_FILTER)
    _URLLIB3_FILTER.params.update(secret_params)
