"""Path and header parameters shared by routers (typed with app.core.types)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Path

from app.core.clock import current_time
from app.core.types import MAX_ID, Code

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
PathCode = Annotated[Code, Path()]  # a ward code in the URL
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=40)]
Now = Annotated[datetime, Depends(current_time)]


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}
