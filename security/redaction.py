"""Keep secret values out of logs, warnings and captured tool output.

Every value registered here (the vault's values, resolved at run time) is replaced with `***`, and so
are the values of `password=`, `token=`, `secret=`, `key=`, `appid=`-like assignments (also as quoted
JSON/dict fields, `"password": "..."`) and the password in a URL's `user:password@`, whoever wrote
them. Limits, on purpose or by nature:
- values shorter than 4 characters are not registered: they would mask ordinary words and numbers;
- a value is found as written or percent-encoded, not when split across log lines, base64-encoded,
  hashed or otherwise transformed;
- handlers added to logging after `install_redaction` are not covered until it is called again
  (it is idempotent and cheap).
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections.abc import Iterable
from typing import Any, TextIO
from urllib.parse import quote

MASK = "***"
MIN_SECRET_LENGTH = 4

_NAME = r"[\w.-]*(?:appid|password|passwd|pwd|key|token|secret)"
_VALUE = r"(?:\"[^\"]*\"|'[^']*'|[^\s&;,'\")\]}]+)"
_ASSIGNMENT = re.compile(rf"(?i)(\b{_NAME}\s*=\s*){_VALUE}")  # key=v, ?appid=v&, PASSWORD=v
_QUOTED_FIELD = re.compile(rf"(?i)([\"']{_NAME}[\"']\s*:\s*){_VALUE}")  # "password": "v" in JSON or reprs
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@/\s]+)(@)")


class SecretRedactor:
    """A set of known secret values and the patterns that hide them in any text."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def register(self, values: Iterable[str]) -> None:
        """Add values (and their URL-encoded forms); shorter than MIN_SECRET_LENGTH are ignored."""
        fresh = {
            form
            for value in values
            for form in (value, quote(value, safe=""))
            if len(form) >= MIN_SECRET_LENGTH
        }
        with self._lock:
            if fresh <= self._values:
                return
            self._values |= fresh
            # Longest first, so a value containing another is replaced whole.
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(value) for value in ordered))

    def redact(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        text = _URL_PASSWORD.sub(rf"\1{MASK}\3", text)
        text = _ASSIGNMENT.sub(rf"\1{MASK}", text)
        return _QUOTED_FIELD.sub(rf"\1{MASK}", text)


class RedactionFilter(logging.Filter):
    """Rewrites a record before any handler formats it: message with its args, exception, stack."""

    def __init__(self, redactor: SecretRedactor) -> None:
        super().__init__()
        self.redactor = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # bad format args: keep what can be shown, redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redactor.redact(message), None
        if record.exc_info:
            record.exc_text = self.redactor.redact(self._formatter.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        return True


_REDACTOR = SecretRedactor()
_FILTER = RedactionFilter(_REDACTOR)


def redact(text: str) -> str:
    """Redact text cofre captured from a child process (dbt, Spark, spark-submit) before showing or
    storing it; uses every value registered through `install_redaction`."""
    return _REDACTOR.redact(text)


def _all_handlers() -> list[logging.Handler]:
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [obj for obj in logging.Logger.manager.loggerDict.values() if isinstance(obj, logging.Logger)]
    return [handler for logger in loggers for handler in logger.handlers]


def _redacting_showwarning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    _original_showwarning(
        _REDACTOR.redact(str(message)),
        category,
        filename,
        lineno,
        file,
        _REDACTOR.redact(line) if line else line,
    )


_original_showwarning: Any = warnings.showwarning


def install_redaction(values: Iterable[str] = ()) -> RedactionFilter:
    """Register `values` and make sure every log handler and warning display redacts.

    The filter goes on the handlers of the root logger and of every existing logger, including those
    that do not propagate (dlt's, Airflow's task loggers), since a filter on a logger does not see
    records from its children. Call again after anything configures logging.
    """
    global _original_showwarning
    _REDACTOR.register(values)
    for handler in _all_handlers():
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    if warnings.showwarning is not _redacting_showwarning:
        _original_showwarning = warnings.showwarning
        warnings.showwarning = _redacting_showwarning
    return _FILTER
