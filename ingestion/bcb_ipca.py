"""IPCA, Brazil's official consumer inflation (BCB SGS series 433, monthly % change), as a dlt source.

The SGS API answers one JSON array per date range, values as strings ("0.90"), dates as dd/MM/yyyy.
Loading is incremental on `month`: a run asks only for the months after the last one loaded, so a
daily schedule costs one small request and loads nothing until a new month is published.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

import dlt
import requests
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.extract.resource import DltResource

from ingestion.http_client import (
    DEFAULT_POLICY,
    HttpPolicy,
    JsonResponse,
    SourceHTTPError,
    SourceResponseError,
    get_json,
)

log = logging.getLogger(__name__)

BCB_BASE_URL = "https://api.bcb.gov.br"
IPCA_SERIES = 433
SERVICE = "BCB SGS (IPCA, series 433)"
_API_DATE = "%d/%m/%Y"

IPCA_COLUMNS: TTableSchemaColumns = {
    "month": {"data_type": "date", "nullable": False, "description": "First day of the reference month."},
    "ipca_pct": {"data_type": "decimal", "nullable": False, "description": "Monthly IPCA change, in %."},
    "series_code": {"data_type": "bigint", "nullable": False, "description": "SGS series code (433)."},
    "origin": {"data_type": "text", "nullable": False, "description": "'live' or the snapshot label."},
    "fetched_at": {"data_type": "timestamp", "nullable": False, "description": "When it was fetched (UTC)."},
}

Fetch = Callable[[dict[str, str]], JsonResponse]


@dlt.source(name="bcb")
def bcb_source(
    base_url: str,
    start: str,
    end: str,
    session: requests.Session,
    timeout: float = DEFAULT_POLICY.timeout_s,
    retries: int = DEFAULT_POLICY.retries,
    backoff_base: float = DEFAULT_POLICY.backoff_base_s,
) -> DltResource:
    """The `ipca` resource for the months `start`..`end` (each "YYYY-MM" or "YYYY-MM-DD").

    `base_url` is the scheme and host (BCB_BASE_URL live; a local server in tests); `session` decides
    live or replay, the source code is the same for both. `timeout` is per request in seconds; a failed
    request is retried `retries` times, waiting `backoff_base` seconds, then twice as long each time.
    """
    first, last = parse_month(start, "start"), parse_month(end, "end")
    if first > last:
        raise ValueError(f"IPCA start {start!r} is after end {end!r}: give start <= end.")
    url = f"{base_url.rstrip('/')}/dados/serie/bcdata.sgs.{IPCA_SERIES}/dados"
    policy = HttpPolicy(timeout_s=timeout, retries=retries, backoff_base_s=backoff_base)
    return ipca(partial(_fetch, session, url, policy), first, last)


@dlt.resource(name="ipca", primary_key="month", write_disposition="merge", columns=IPCA_COLUMNS)
def ipca(
    fetch: Fetch,
    first_month: date,
    last_month: date,
    month: dlt.sources.incremental[date] = dlt.sources.incremental("month"),  # noqa: B008 (dlt idiom)
) -> Iterator[dict[str, Any]]:
    """Monthly IPCA rows from the month after the last one loaded (or `first_month`) to `last_month`."""
    since = first_month if month.last_value is None else max(first_month, _next_month(month.last_value))
    if since > last_month:
        log.info(
            "IPCA is up to date: last month loaded is %s, requested up to %s", month.last_value, last_month
        )
        return
    params = {
        "formato": "json",
        "dataInicial": f"{since:{_API_DATE}}",
        "dataFinal": f"{_month_end(last_month):{_API_DATE}}",
    }
    try:
        response = fetch(params)
    except SourceHTTPError as exc:
        if exc.status != 404:
            raise
        # SGS answers 404 (or an empty array) for a range with no data yet: nothing new, not a failure.
        log.info("IPCA has no data from %s to %s yet", since, last_month)
        return
    fetched_at = datetime.now(UTC)
    for item in _rows_of(response.data):
        yield _row(item, response.origin, fetched_at)


def parse_month(value: str, name: str) -> date:
    """The first day of the month of a "YYYY-MM" or "YYYY-MM-DD" string."""
    for fmt in ("%Y-%m", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).date().replace(day=1)
        except ValueError:
            continue
    raise ValueError(f"IPCA {name} {value!r} is not a month: write it as YYYY-MM (e.g. 2016-01).")


def _fetch(session: requests.Session, url: str, policy: HttpPolicy, params: dict[str, str]) -> JsonResponse:
    return get_json(session, url, params, service=SERVICE, policy=policy)


def _rows_of(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise SourceResponseError(
            f"{SERVICE}: expected a JSON array of {{data, valor}} objects, got {type(data).__name__}: "
            f"{str(data)[:120]}. The API format may have changed; check the request in a browser."
        )
    return data


def _row(item: Any, origin: str, fetched_at: datetime) -> dict[str, Any]:
    """One SGS object {"data": "01/02/2016", "valor": "0.90"} as a typed row; bad values fail loudly."""
    if not isinstance(item, dict):
        raise SourceResponseError(f"{SERVICE}: expected an object with 'data' and 'valor', got {item!r}.")
    return {
        "month": _parse_api_date(item.get("data")).replace(day=1),
        "ipca_pct": _parse_value(item.get("valor"), item.get("data")),
        "series_code": IPCA_SERIES,
        "origin": origin,
        "fetched_at": fetched_at,
    }


def _parse_api_date(raw: Any) -> date:
    try:
        return datetime.strptime(str(raw), _API_DATE).date()
    except ValueError:
        raise SourceResponseError(
            f"{SERVICE}: field 'data' has value {raw!r}, which is not a dd/MM/yyyy date."
        ) from None


def _parse_value(raw: Any, raw_date: Any) -> Decimal:
    try:
        value = Decimal(str(raw).strip()) if isinstance(raw, str | int | float) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise SourceResponseError(
            f"{SERVICE}: field 'valor' has value {raw!r} (data {raw_date!r}), which is not a decimal number."
        )
    return value


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _month_end(day: date) -> date:
    return date.fromordinal(_next_month(day).toordinal() - 1)
