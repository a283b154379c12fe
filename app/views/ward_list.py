"""The PAS ward list from a spreadsheet, in the browser: upload, preview row by row, confirm.

The same reading (app.stays.ward_list_file: a byte order mark, semicolons, Windows-1252...) and
the same plan as the JSON API (app.stays.ward_list): the preview says, line by line, what will be
admitted, moved, updated, left as it is or refused and why, and which patients on the ward are
not on the list (discharged only when the user previews again with that box ticked). Applying
sends the file back with the preview's plan: if the ward or the file changed since, nothing is
done and the new preview is shown. The whole list is applied in one transaction; the same file
twice changes nothing.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from app.auth.deps import CanImportWardList
from app.auth.scope import ward_by_code_or_404
from app.core.params import Now, PathCode
from app.core.principal import Principal
from app.db import SessionDep
from app.models import Ward
from app.stays import ward_list, ward_list_file
from app.stays.schemas import WardListPreview
from app.wards.queries import has_pas_feed
from app.web.form_writes import write_form
from app.web.templating import render

router = APIRouter(include_in_schema=False)

# The file travels back base64-encoded with the confirmation (4 characters per 3 bytes).
MAX_CONTENT = (ward_list_file.MAX_BYTES * 4) // 3 + 4
NO_FILE = "Choose the ward list file (CSV) exported from the PAS"


async def _upload(request: Request) -> dict[str, Any]:
    """The posted form: the file (multipart upload) as bytes under `raw`, or the file sent back
    base64-encoded under `content`; other fields as text."""
    form = await request.form(max_files=1, max_fields=20, max_part_size=ward_list_file.MAX_BYTES + 1)
    data: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key == "csrf_token":
            continue
        if isinstance(value, str):
            data[key] = value
        elif key == "file":
            data["raw"] = await value.read(ward_list_file.MAX_BYTES + 1)
    return data


Upload = Annotated[dict[str, Any], Depends(_upload)]


def _raw(form: dict[str, Any]) -> bytes | None:
    if isinstance(form.get("raw"), bytes) and form["raw"]:
        return form["raw"]
    content = form.get("content")
    if not isinstance(content, str) or not content or len(content) > MAX_CONTENT:
        return None
    try:
        return base64.b64decode(content, validate=True) or None
    except (binascii.Error, ValueError):
        return None


def _yes(value: object) -> bool:
    return value in ("yes", "on", "true", "1")


def _page(
    request: Request,
    session: Session,
    ward: Ward,
    *,
    preview: WardListPreview | None = None,
    raw: bytes | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "ward": ward,
        "pas_feed": has_pas_feed(session, ward.id),
        "preview": preview,
        "content": base64.b64encode(raw).decode("ascii") if raw is not None and preview is not None else "",
        "errors": errors or {},
        "message": message,
        "columns": ward_list_file.COLUMNS,
        "max_rows": ward_list_file.MAX_ROWS,
    }
    return render(request, "wards/ward_list.html", context, status_code=status_code)


def _plan(
    session: Session, actor: Principal, ward: Ward, raw: bytes, discharge_missing: bool, now: Any
) -> WardListPreview:
    found = ward_list_file.read(raw)
    return ward_list.preview(
        session, actor=actor, ward=ward, found=found, raw=raw, discharge_missing=discharge_missing, now=now
    )


@router.get("/wards/{code}/ward-list", name="ward_list_form")
def ward_list_form(request: Request, code: PathCode, session: SessionDep, actor: CanImportWardList) -> Response:
    ward = ward_by_code_or_404(session, actor, code)
    return _page(request, session, ward)


@router.post("/wards/{code}/ward-list", name="ward_list_preview")
def ward_list_preview(
    request: Request, code: PathCode, session: SessionDep, actor: CanImportWardList, form: Upload, now: Now
) -> Response:
    """Nothing is written: what importing the file would do."""
    ward = ward_by_code_or_404(session, actor, code)
    raw = _raw(form)
    if raw is None:
        return _page(request, session, ward, errors={"file": NO_FILE}, status_code=422)
    if len(raw) > ward_list_file.MAX_BYTES:
        return _page(request, session, ward, errors={"file": "The file is too large: 1 MB at most"}, status_code=422)
    try:
        preview = _plan(session, actor, ward, raw, _yes(form.get("discharge_missing")), now)
    except ward_list_file.FileProblem as exc:
        return _page(request, session, ward, errors={"file": str(exc)}, status_code=422)
    return _page(request, session, ward, preview=preview, raw=raw)


class ApplyForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    content: Annotated[str, Field(min_length=1, max_length=MAX_CONTENT)]
    plan: Annotated[str, Field(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")]
    discharge_missing: bool = False


@router.post("/wards/{code}/ward-list/apply", name="ward_list_apply")
def ward_list_apply(
    request: Request, code: PathCode, session: SessionDep, actor: CanImportWardList, form: Upload, now: Now
) -> Response:
    """Apply exactly what the preview showed, in one transaction."""
    ward = ward_by_code_or_404(session, actor, code)
    raw = _raw(form)
    discharge_missing = _yes(form.get("discharge_missing"))
    values = {"content": form.get("content", ""), "plan": form.get("plan", ""), "discharge_missing": discharge_missing}

    def save(data: ApplyForm, _: int) -> WardListPreview:
        assert raw is not None  # checked before: `errors`
        found = ward_list_file.read(raw)
        return ward_list.import_list(
            session,
            actor=actor,
            ward=ward,
            found=found,
            raw=raw,
            discharge_missing=discharge_missing,
            expected_plan=data.plan,
            now=now,
        )

    def again(errors: dict[str, str], status: int) -> Response:
        if raw is None:
            return _page(request, session, ward, errors={"file": NO_FILE}, status_code=422)
        try:
            preview = _plan(session, actor, ward, raw, discharge_missing, now)
        except ward_list_file.FileProblem as exc:
            return _page(request, session, ward, errors={"file": str(exc)}, status_code=422)
        message = next(iter(errors.values()), None)
        return _page(
            request, session, ward, preview=preview, raw=raw, errors={"plan": message or ""}, status_code=status
        )

    def done(applied: WardListPreview) -> Response:
        return _page(request, session, ward, preview=applied, message="The ward list has been applied")

    problems = {} if raw is not None else {"file": NO_FILE}
    if raw is not None:
        try:
            ward_list_file.read(raw)
        except ward_list_file.FileProblem as exc:
            problems = {"file": str(exc)}
    return write_form(session, values, ApplyForm, save, errors=problems, done=done, again=again)
