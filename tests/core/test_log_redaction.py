"""Log records lose query strings and exception messages, whatever formats them."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from pydantic import ValidationError
from uvicorn.logging import AccessFormatter, DefaultFormatter

from app.core import log_redaction
from app.patients.schemas import PatientCreate

NHS = "9434765918"  # a wrong check digit: pydantic's message quotes the input
NAME = "Quillfeather"


@pytest.fixture
def capture() -> Iterator:
    log_redaction.install()
    handlers: list[tuple[logging.Logger, logging.Handler, int]] = []

    def attach(name: str, formatter: logging.Formatter) -> io.StringIO:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        logger = logging.getLogger(name)
        handlers.append((logger, handler, logger.level))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        return stream

    yield attach
    for logger, handler, level in handlers:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_access_lines_keep_the_path_only(capture):
    out = capture("uvicorn.access", AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/api/v1/patients?nhs_number={NHS}", "1.1", 200
    )
    assert out.getvalue() == '127.0.0.1:5000 - "GET /api/v1/patients HTTP/1.1" 200 OK\n'


def _failing_request() -> None:
    try:
        PatientCreate(
            nhs_number=NHS, mrn="K1", given_name="Ann", family_name=NAME, date_of_birth="1940-05-17", sex="female"
        )
    except ValidationError as exc:
        raise RuntimeError(f"could not register {NAME}") from exc


@pytest.mark.parametrize(
    "formatter", [logging.Formatter("%(message)s"), DefaultFormatter("%(levelprefix)s %(message)s")]
)
def test_tracebacks_keep_types_and_frames_but_no_messages(capture, formatter):
    out = capture("uvicorn.error", formatter)
    try:
        _failing_request()
    except RuntimeError as exc:
        logging.getLogger("uvicorn.error").error("Exception in ASGI application\n", exc_info=exc)
    text = out.getvalue()
    assert NHS not in text and NAME not in text
    assert "pydantic_core._pydantic_core.ValidationError: (message withheld" in text
    assert "The above exception led to the following one" in text
    assert "RuntimeError: (message withheld" in text
    assert "in _failing_request" in text  # the frames are still there to find the bug


def test_logger_exception_is_redacted_too(capture):
    out = capture("boardround.test", logging.Formatter("%(message)s"))
    try:
        raise KeyError(NHS)
    except KeyError:
        logging.getLogger("boardround.test").exception("unhandled %s on %s %s", "KeyError", "GET", "/x")
    assert NHS not in out.getvalue() and "KeyError: (message withheld" in out.getvalue()


def test_install_wraps_the_factory_once():
    log_redaction.install()
    factory = logging.getLogRecordFactory()
    log_redaction.install()
    assert logging.getLogRecordFactory() is factory
