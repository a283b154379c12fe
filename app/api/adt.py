"""HL7 v2 ADT messages over HTTP (token-authenticated).

`POST /api/v1/hl7/adt` with the raw ER7 message as the body answers 200 with the HL7 ACK as
the body, whatever the ACK says (AA, AE or AR): like MLLP, the outcome is in MSA-1. HTTP
errors mean the message was not looked at: 401/403 (who), 415 (not HL7 text), 503 (the
database could not record it; send again).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response

from app.adt import pipeline
from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.core.errors import DomainError
from app.core.params import Now
from app.db import SessionDep

router = APIRouter(prefix="/hl7", tags=["hl7"])

HL7_MEDIA_TYPE = "x-application/hl7-v2+er7"
ACCEPTED_TYPES = {HL7_MEDIA_TYPE, "application/hl7-v2", "application/hl7-v2+er7", "text/plain"}


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "unavailable"


async def raw_body(request: Request) -> bytes:
    """The body as sent, whatever its content type (FastAPI would parse JSON bodies itself)."""
    return await request.body()


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, val = part.strip().partition("=")
        if key.strip().lower() == "charset" and val.strip():
            return val.strip().strip('"')
    return None


@router.post(
    "/adt",
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {HL7_MEDIA_TYPE: {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}}},
        }
    },
    responses={
        200: {"content": {HL7_MEDIA_TYPE: {}}, "description": "The HL7 ACK (MSA-1 AA, AE or AR)"},
        415: {"description": "Body is not an HL7 v2 ER7 message"},
        503: {"description": "Could not be recorded: send again"},
    },
    summary="Submit one HL7 v2 ADT message",
)
def submit_adt(
    session: SessionDep,
    actor: Requires(Perm.SUBMIT_HL7),
    now: Now,
    body: Annotated[bytes, Depends(raw_body)],
    content_type: Annotated[str, Header(include_in_schema=False)] = "",
) -> Response:
    media = content_type.split(";")[0].strip().lower()
    if media not in ACCEPTED_TYPES:
        raise UnsupportedMediaType(f"Send the message as {HL7_MEDIA_TYPE} or text/plain", field="content-type")
    charset = _charset(content_type)
    raw: bytes | str = body
    if charset:
        try:
            raw = body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            raw = body
    try:
        ack = pipeline.handle(session, raw, actor=actor, now=now, channel="http")
    except pipeline.Unavailable:
        raise ServiceUnavailable("The message could not be recorded just now: send it again") from None
    return Response(content=ack.message, media_type=HL7_MEDIA_TYPE)
