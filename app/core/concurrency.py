"""Optimistic concurrency: compare the version the client saw with the current one."""

from __future__ import annotations

from app.core.errors import PreconditionRequired
from app.core.types import form_id


def parse_if_match(header: str | None) -> int | None:
    """Accept `"3"`, `W/"3"` or `3`; anything else is treated as absent."""
    if not header:
        return None
    return form_id(header.strip().removeprefix("W/").strip('"'))


def expected_version(if_match: str | None, body_version: int | None) -> int:
    version = parse_if_match(if_match) or body_version
    if version is None:
        raise PreconditionRequired(
            "Send the version you last saw (If-Match header or `version` field), so that "
            "nobody's change is overwritten without them knowing",
            field="version",
        )
    return version
