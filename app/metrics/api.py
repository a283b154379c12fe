"""Metrics and national returns (JSON/CSV under /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["metrics"])
