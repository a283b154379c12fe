"""The PAS ward list (CSV) for one ward: preview what importing it does, then apply exactly that.

The body is the file itself (`Content-Type: text/csv`), as exported: UTF-8 with or without a byte
order mark, Windows-1252 or UTF-16; commas, semicolons or tabs. Columns: docs/setup.md.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.auth.scope import ward_or_404
from app.core.errors import RuleViolation
from app.core.params import Now, PathId
from app.db import SessionDep, commit
from app.stays import ward_list, ward_list_file
from app.stays.schemas import WardListPreview
from app.web.idempotency import IdempotentRoute

router = APIRouter(prefix="/wards/{ward_id}/ward-list", tags=["ward list"], route_class=IdempotentRoute)

CsvFile = Annotated[
    bytes,
    Body(media_type="text/csv", description="The ward list as exported from the PAS (CSV, docs/setup.md)."),
]
DischargeMissing = Annotated[
    bool,
    Query(description="Discharge the ward's patients who are not on the list (they are only listed otherwise)."),
]
PlanToken = Annotated[str, Query(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")]


def _read(raw: bytes) -> ward_list_file.WardListFile:
    try:
        return ward_list_file.read(raw)
    except ward_list_file.FileProblem as exc:
        raise RuleViolation(str(exc), field="file") from None


@router.post("/preview", response_model=WardListPreview)
def preview_ward_list(
    ward_id: PathId,
    file: CsvFile,
    session: SessionDep,
    actor: Requires(Perm.IMPORT_WARD_LIST),
    now: Now,
    discharge_missing: DischargeMissing = False,
):
    """What importing this list would do, line by line: admit, move, update (consultant),
    unchanged, or refused and why; and the ward's patients who are not on it (discharged only
    with `discharge_missing`). Nothing is changed. Apply with the `plan` it returns."""
    ward = ward_or_404(session, actor, ward_id)
    found = _read(file)
    return ward_list.preview(
        session, actor=actor, ward=ward, found=found, raw=file, discharge_missing=discharge_missing, now=now
    )


@router.post("/apply", response_model=WardListPreview)
def apply_ward_list(
    ward_id: PathId,
    file: CsvFile,
    plan: PlanToken,
    session: SessionDep,
    actor: Requires(Perm.IMPORT_WARD_LIST),
    now: Now,
    discharge_missing: DischargeMissing = False,
):
    """Apply the list, all in one transaction, if it still does what its preview (`plan`) said;
    otherwise 409 with the new preview in `detail`. Importing the same file again changes nothing."""
    ward = ward_or_404(session, actor, ward_id)
    found = _read(file)
    done = ward_list.import_list(
        session,
        actor=actor,
        ward=ward,
        found=found,
        raw=file,
        discharge_missing=discharge_missing,
        expected_plan=plan,
        now=now,
    )
    commit(session)
    return done
