"""HL7 v2 ADT messages over HTTP (token-authenticated)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/hl7", tags=["hl7"])
