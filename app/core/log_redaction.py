"""Log records that cannot carry patient identifiers, however logging is configured.

Two channels used to write them into the server's output:

- the access log: uvicorn writes every request's URL with its query string, so a search or a
  filter ever given an NHS number in the URL put it in the log;
- exception messages at the end of a traceback: pydantic quotes the input it refused,
  SQLAlchemy the statement's parameters, PostgreSQL the duplicate key's value.

`install()` wraps the process's log record factory, so every record is built without them
whatever formatter, handler or `--log-config` is in place (uvicorn configures logging before
it calls `create_app`, and may do it again in each worker process):

- a uvicorn access record keeps the path and loses the query string;
- a record's exception keeps its type and stack (file, line, function, source line) but not
  its message, nor those of the exceptions it was raised from.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType
from typing import Any

ACCESS_LOGGERS = frozenset({"uvicorn.access"})
WITHHELD = "(message withheld from the log: it may quote patient data)"

_PATH_ARG = 2  # uvicorn's access record: (client, method, path with query, http version, status)


def path_only(full_path: str) -> str:
    return full_path.split("?", 1)[0]


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and those it was raised from or during, oldest first."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return chain[::-1]


def _name(exc: BaseException) -> str:
    kind = type(exc)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def withheld_traceback(exc: BaseException, tb: TracebackType | None = None) -> str:
    """A traceback like Python's, with every exception's message replaced by WITHHELD."""
    lines: list[str] = []
    for n, link in enumerate(_chain(exc)):
        if n:
            lines.append("\nThe above exception led to the following one:\n\n")
        frames = tb if link is exc and tb is not None else link.__traceback__
        if frames is not None:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_list(traceback.extract_tb(frames)))
        lines.append(f"{_name(link)}: {WITHHELD}\n")
        inner = getattr(link, "exceptions", None)  # an exception group: say what it held
        if isinstance(inner, tuple) and inner:
            lines.append(f"  containing: {', '.join(_name(e) for e in inner)}\n")
    return "".join(lines).rstrip("\n")


def redact(record: logging.LogRecord) -> logging.LogRecord:
    if record.name in ACCESS_LOGGERS and isinstance(record.args, tuple) and len(record.args) > _PATH_ARG:
        args = list(record.args)
        path = args[_PATH_ARG]
        if isinstance(path, str):
            args[_PATH_ARG] = path_only(path)
            record.args = tuple(args)
    if record.exc_info and record.exc_info[1] is not None:
        # The formatter prints exc_text as it is; with exc_info gone, nothing re-formats the original.
        record.exc_text = withheld_traceback(record.exc_info[1], record.exc_info[2])
        record.exc_info = None
    return record


def install() -> None:
    """Wrap the log record factory (once per process; later calls do nothing)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "boardround_redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact(current(*args, **kwargs))

    factory.boardround_redacts = True  # type: ignore[attr-defined]  # a mark on the function, read above
    logging.setLogRecordFactory(factory)
