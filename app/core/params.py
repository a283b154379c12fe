"""Path and header parameters shared by routers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Path

from app.core.clock import current_time
from app.core.types import MAX_ID

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=40)]
Now = Annotated[datetime, Depends(current_time)]


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}
