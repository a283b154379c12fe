"""HTML forms: `FormData` reads a posted form (an async dependency, so routes stay sync).

Validation is app.core.validation's: the same pydantic schemas as the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

MAX_FIELDS = 500


async def _form_data(request: Request) -> dict[str, Any]:
    """Single values as strings, repeated names (checkboxes) as lists."""
    form = await request.form(max_fields=MAX_FIELDS, max_files=0)
    data: dict[str, Any] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str) or key == "csrf_token":
            continue
        if key in data:
            data[key] = data[key] if isinstance(data[key], list) else [data[key]]
            data[key].append(value)
        else:
            data[key] = value
    return data


FormData = Annotated[dict[str, Any], Depends(_form_data)]
