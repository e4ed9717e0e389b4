"""Redaction of secret values in log records (message, args, exception text), warnings and text."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator

import pytest

from security import redaction
from security.redaction import RedactionFilter, SecretRedactor, install_redaction, redact

SECRET = "s3cr3t-marker-value"


def _capture(redactor: SecretRedactor) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactionFilter(redactor))
    logger = logging.getLogger(f"cofre.test.{id(stream)}")
    logger.propagate = False
    logger.addHandler(handler)
    return logger, stream


@pytest.fixture
def redactor() -> SecretRedactor:
    redactor = SecretRedactor()
    redactor.register([SECRET, "p@ss word/1", "abc"])
    return redactor


def test_filter_scrubs_message_args_and_exception(redactor: SecretRedactor) -> None:
    logger, stream = _capture(redactor)
    logger.warning(f"connecting with {SECRET}")
    logger.warning("password is %s and dict %r", SECRET, {"k": SECRET})
    try:
        raise RuntimeError(f"auth failed for {SECRET}")
    except RuntimeError:
        logger.exception("request failed")
    logger.warning("stack", stack_info=True)
    output = stream.getvalue()
    assert SECRET not in output
    assert output.count("***") >= 4
    assert "RuntimeError: auth failed for ***" in output


def test_patterns_and_encoded_forms(redactor: SecretRedactor) -> None:
    text = (
        "GET https://api.openweathermap.org/data/2.5/weather?q=SP&appid=0123456789abcdef&units=metric\n"
        "DBT_ENV_SECRET_PG_PASSWORD=hunter22 token = tkn-77 secret='x y'\n"
        "postgresql://cofre:pw-in-url@db:5432/cofre {\"password\": \"json-pw\"} {'api_key': 'dict-key'}\n"
        "url-encoded p%40ss%20word%2F1 and raw p@ss word/1; short abc stays"
    )
    out = redactor.redact(text)
    for leaked in [
        "0123456789abcdef",
        "hunter22",
        "tkn-77",
        "x y",
        "pw-in-url",
        "json-pw",
        "dict-key",
        "p@ss",
    ]:
        assert leaked not in out
    assert "q=SP" in out and "units=metric" in out and "short abc stays" in out
    assert "p%40ss" not in out


def test_longest_value_wins() -> None:
    redactor = SecretRedactor()
    redactor.register(["abcd", "abcdefgh"])
    assert redactor.redact("x abcdefgh y") == "x *** y"


@pytest.fixture
def installed() -> Iterator[None]:
    """Undo install_redaction's global changes after the test."""
    original, wrapped = warnings.showwarning, redaction._original_showwarning
    yield
    for handler in logging.getLogger().handlers + logging.getLogger("cofre.test.noprop").handlers:
        handler.removeFilter(redaction._FILTER)
    warnings.showwarning, redaction._original_showwarning = original, wrapped


def test_install_covers_root_non_propagating_loggers_and_warnings(installed: None) -> None:
    shown: list[str] = []
    root_stream, own_stream = io.StringIO(), io.StringIO()
    root_handler = logging.StreamHandler(root_stream)
    logging.getLogger().addHandler(root_handler)
    noprop = logging.getLogger("cofre.test.noprop")  # like dlt's or airflow.task's loggers
    noprop.propagate = False
    noprop.addHandler(logging.StreamHandler(own_stream))
    try:
        install_redaction([SECRET])
        install_redaction([SECRET])  # idempotent
        logging.getLogger("cofre.test.child").warning("root sees %s", SECRET)
        noprop.warning("own handler sees %s", SECRET)
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = lambda message, *_args, **_kw: shown.append(str(message))
            install_redaction()
            warnings.warn(f"deprecated option holding {SECRET}", UserWarning, stacklevel=1)
    finally:
        logging.getLogger().removeHandler(root_handler)
    assert root_stream.getvalue() == "root sees ***\n"
    assert own_stream.getvalue() == "own handler sees ***\n"
    assert shown == ["deprecated option holding ***"]
    assert root_handler.filters.count(redaction._FILTER) == 1
    assert redact(f"dbt said {SECRET}") == "dbt said ***"
