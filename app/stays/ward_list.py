"""The PAS ward list, imported: preview row by row, then apply in one transaction.

For each line of the list: admit (a patient not in hospital), move (in hospital, another bed or
another ward the user may act on), update (the consultant changed), unchanged, or refuse with the
reason. Patients on the ward who are on no line are discharged only when the user confirms it
(`discharge_missing`); otherwise they are listed as not on the list. Everything goes through the
patient and stay services: the same checks, audit, versions and ward scope as the API. Importing
the same file again changes nothing.

The preview carries a `plan` fingerprint of the file and of every record it would change; apply
re-plans in its own transaction and refuses (409) when the fingerprint differs, so what is done
is exactly what was shown.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from app.core.errors import Conflict, DomainError
from app.core.principal import Principal
from app.models import Bed, Patient, Stay, Ward
from app.patients import nhs_number as nhs
from app.patients import service as patients
from app.stays import service as stays
from app.stays.schemas import WardListPreview, WardListRow
from app.stays.ward_list_file import Row, WardListFile
from app.wards.queries import has_pas_feed

# Where and when a patient who is no longer on the list went is not on it: the discharge says
# "not known" (an audited correction can put it right).
UNKNOWN_DESTINATION = "99"


@dataclass
class _Line:
    row: Row
    action: str = "refuse"
    detail: str = ""
    bed: Bed | None = None
    patient: Patient | None = None
    stay: Stay | None = None  # the patient's current stay, if any
    consultant: bool = False  # the consultant changes too


@dataclass
class WardListPlan:
    ward: Ward
    lines: list[_Line]
    missing: list[tuple[Stay, Patient]]
    discharge_missing: bool
    notes: list[str]
    fingerprint: str
    beds: dict[int, Bed] = field(default_factory=dict)

    def preview(self, pas_feed: bool, *, applied: bool = False) -> WardListPreview:
        rows = [
            WardListRow(
                line=ln.row.line,
                bed=ln.row.bed,
                nhs_number=nhs.display(ln.row.nhs_number) or None,
                mrn=ln.row.mrn,
                name=ln.row.name,
                action=ln.action,  # type: ignore[arg-type]
                detail=ln.detail,
                stay_id=ln.stay.id if ln.stay is not None and ln.stay.ward_id == self.ward.id else None,
            )
            for ln in self.lines
        ]
        for stay, patient in self.missing:
            bed = self.beds.get(stay.bed_id) if stay.bed_id is not None else None  # type: ignore[arg-type]
            rows.append(
                WardListRow(
                    line=None,
                    bed=bed.label if bed is not None else "",
                    nhs_number=nhs.display(patient.nhs_number) or None,
                    mrn=patient.mrn,
                    name=f"{patient.family_name.upper()}, {patient.given_name}",
                    action="discharge" if self.discharge_missing else "not_on_list",
                    detail="Not on the list: discharged (destination not known)"
                    if self.discharge_missing
                    else "Not on the list: confirm to discharge",
                    stay_id=stay.id,
                )
            )
        counts = Counter(r.action for r in rows)
        return WardListPreview(
            ward_id=self.ward.id,  # type: ignore[arg-type]
            ward_code=self.ward.code,
            pas_feed=pas_feed,
            discharge_missing=self.discharge_missing,
            rows=rows,
            counts=dict(sorted(counts.items())),
            notes=self.notes,
            plan=self.fingerprint,
            applied=applied,
        )


def _refuse(line: _Line, reason: str) -> None:
    line.action, line.detail = "refuse", reason


def plan(
    session: Session,
    *,
    actor: Principal,
    ward: Ward,
    found: WardListFile,
    raw: bytes,
    discharge_missing: bool,
    now: datetime,
) -> WardListPlan:
    """What applying the list would do, line by line (nothing is written)."""
    beds = {b.id: b for b in session.exec(select(Bed).where(Bed.ward_id == ward.id))}
    by_label = {b.label: b for b in beds.values()}
    folded: dict[str, list[Bed]] = {}
    for bed in beds.values():
        folded.setdefault(bed.label.casefold(), []).append(bed)
    current = {
        stay.id: (stay, patient)
        for stay, patient in session.exec(
            select(Stay, Patient)
            .join(Patient, col(Patient.id) == Stay.patient_id)
            .where(Stay.ward_id == ward.id, col(Stay.discharged_at).is_(None))
        )
    }
    lines = [_Line(row) for row in found.rows]
    seen_patient: dict[str, int] = {}
    seen_bed: dict[int, int] = {}
    for line in lines:
        row = line.row
        if row.problems:
            _refuse(line, "; ".join(row.problems))
            continue
        keys = [k for k in (row.nhs_number, row.mrn.upper()) if k]
        again = next((seen_patient[k] for k in keys if k in seen_patient), None)
        if again is not None:
            _refuse(line, f"This patient is also on line {again}")
            continue
        seen_patient.update(dict.fromkeys(keys, row.line))
        if row.bed:
            candidates = [by_label[row.bed]] if row.bed in by_label else folded.get(row.bed.casefold(), [])
            if len(candidates) != 1:
                _refuse(line, f"There is no bed {row.bed} on this ward")
                continue
            line.bed = candidates[0]
            if line.bed.retired_at is not None:
                _refuse(line, f"Bed {line.bed.label} has been retired")
                continue
            if line.bed.id in seen_bed:
                _refuse(line, f"Bed {line.bed.label} is also on line {seen_bed[line.bed.id]}")
                continue
            seen_bed[line.bed.id] = row.line  # type: ignore[index]
        assert row.patient is not None and row.admitted_at is not None
        try:
            line.patient = patients.match(session, actor=actor, data=row.patient)
        except DomainError as exc:
            _refuse(line, exc.message)
            continue
        _decide(session, actor, ward, line, now)

    _refuse_blocked(lines, current, discharge_missing)
    mentioned = set().union(*(ln.row.mentions for ln in lines)) if lines else set()
    listed = {ln.stay.id for ln in lines if ln.stay is not None}
    missing = [
        (stay, patient)
        for stay_id, (stay, patient) in sorted(current.items(), key=lambda item: item[0])
        if stay_id not in listed and not ({patient.mrn.upper(), patient.nhs_number or ""} & mentioned)
    ]
    notes = list(found.notes)
    fingerprint = _fingerprint(raw, lines, missing, discharge_missing)
    return WardListPlan(ward, lines, missing, discharge_missing, notes, fingerprint, beds)  # type: ignore[arg-type]


def _decide(session: Session, actor: Principal, ward: Ward, line: _Line, now: datetime) -> None:
    """Admit, move, update or unchanged for a line naming a patient the hospital knows (or not)."""
    row = line.row
    if line.patient is not None:
        line.stay = session.exec(
            select(Stay).where(Stay.patient_id == line.patient.id, col(Stay.discharged_at).is_(None))
        ).first()
    bed_id = line.bed.id if line.bed is not None else None
    line.consultant = bool(row.consultant) and (line.stay is None or row.consultant != line.stay.responsible_consultant)
    where = f"bed {line.bed.label}" if line.bed is not None else "the ward (no bed)"
    if line.stay is None:
        if row.admitted_at > now + stays.CLOCK_SKEW:  # type: ignore[operator]
            _refuse(line, "The admission time is in the future")
            return
        line.action, line.detail = "admit", f"Admit to {where}"
    elif line.stay.ward_id != ward.id:
        if not actor.can_access_ward(line.stay.ward_id):
            _refuse(line, stays.ALREADY_IN_ELSEWHERE)
            return
        other = session.get(Ward, line.stay.ward_id)
        line.action, line.detail = "move", f"Move from ward {other.code if other else '?'} to {where}"
    elif line.stay.bed_id != bed_id:
        old = session.get(Bed, line.stay.bed_id) if line.stay.bed_id is not None else None
        line.action = "move"
        line.detail = f"Move from {f'bed {old.label}' if old else 'no bed'} to {where}"
    elif line.consultant:
        line.action, line.detail = "update", f"Consultant: {row.consultant}"
        return
    else:
        line.action, line.detail = "unchanged", "Already here"
        return
    if line.bed is not None and not line.bed.is_open:
        _refuse(line, f"Bed {line.bed.label} is closed")
        return
    if line.consultant:
        line.detail += f"; consultant: {row.consultant}"


def _refuse_blocked(lines: list[_Line], current: dict[int, tuple[Stay, Patient]], discharge_missing: bool) -> None:
    """Refuse admissions and moves into a bed whose patient stays in it: one on no line (unless
    their discharge is confirmed) or whose own line was refused. Repeated until nothing changes,
    since a refused move keeps its patient in their bed."""
    occupant = {stay.bed_id: stay for stay, _ in current.values() if stay.bed_id is not None}
    listed = {ln.stay.id: ln for ln in lines if ln.stay is not None}
    changed = True
    while changed:
        changed = False
        for line in lines:
            if line.action not in ("admit", "move") or line.bed is None:
                continue
            held = occupant.get(line.bed.id)
            if held is None or (line.stay is not None and held.id == line.stay.id):
                continue
            own = listed.get(held.id)  # type: ignore[arg-type]
            if own is not None and own.action == "move":
                continue  # they move out first
            if own is None and discharge_missing:
                continue  # they are discharged first
            reason = (
                f"Bed {line.bed.label} still has a patient who is not on the list: confirm discharges, or correct"
                " the file"
                if own is None
                else f"Bed {line.bed.label} is still taken: line {own.row.line} cannot be applied"
            )
            _refuse(line, reason)
            changed = True


def _fingerprint(raw: bytes, lines: list[_Line], missing: list[tuple[Stay, Patient]], confirm: bool) -> str:
    """The file and every record the plan would touch, at the version it was read."""
    facts = {
        "file": hashlib.sha256(raw).hexdigest(),
        "confirm": confirm,
        "lines": [
            [ln.row.line, ln.action, ln.bed.id if ln.bed else None, ln.bed.version if ln.bed else None,
             ln.patient.id if ln.patient else None, ln.stay.id if ln.stay else None,
             ln.stay.version if ln.stay else None]
            for ln in lines
        ],
        "missing": [[stay.id, stay.version] for stay, _ in missing],
    }  # fmt: skip
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def apply(session: Session, *, actor: Principal, found: WardListPlan, now: datetime) -> None:
    """Do what the plan says, in the caller's transaction: discharges, then moves, then the
    consultants, then admissions (so beds are free when someone arrives)."""
    ward_id = found.ward.id
    if found.discharge_missing:
        for stay, _ in found.missing:
            stays.discharge(
                session,
                actor=actor,
                stay=stay,
                discharged_at=max(now, stay.admitted_at),
                destination_code=UNKNOWN_DESTINATION,
                pathway=None,
                expected_version=stay.version,
                now=now,
            )
    session.flush()
    _moves(session, actor, found, now)
    for line in found.lines:
        if line.consultant and line.action in ("move", "update") and line.stay is not None:
            stays.update_stay(
                session,
                actor=actor,
                stay=line.stay,
                changes={"responsible_consultant": line.row.consultant},
                expected_version=line.stay.version,
                now=now,
            )
    for line in found.lines:
        if line.action != "admit":
            continue
        assert line.row.patient is not None and line.row.admitted_at is not None
        patient = line.patient or patients.create_patient(
            session, actor=actor, data=line.row.patient, now=now, looked_up=True
        )
        stays.admit(
            session,
            actor=actor,
            patient=patient,
            ward_id=ward_id,  # type: ignore[arg-type]
            bed_id=line.bed.id if line.bed is not None else None,
            admitted_at=line.row.admitted_at,
            now=now,
            responsible_consultant=line.row.consultant,
        )


def _moves(session: Session, actor: Principal, found: WardListPlan, now: datetime) -> None:
    """Each move once its bed is free. Patients swapping beds would wait for each other: one of
    them steps to no bed first (a moment in the ward history), then takes their bed."""
    ward_id = found.ward.id
    pending = [ln for ln in found.lines if ln.action == "move"]
    taken = {
        stay.bed_id: stay.id
        for stay in session.exec(select(Stay).where(Stay.ward_id == ward_id, col(Stay.discharged_at).is_(None)))
        if stay.bed_id is not None
    }

    def move(line: _Line, bed_id: int | None) -> None:
        stay = line.stay
        assert stay is not None
        if stay.ward_id == ward_id and stay.bed_id is not None:
            taken.pop(stay.bed_id, None)
        stays.transfer(
            session, actor=actor, stay=stay, ward_id=ward_id, bed_id=bed_id, at=now,  # type: ignore[arg-type]
            expected_version=stay.version, now=now,
        )  # fmt: skip
        if bed_id is not None:
            taken[bed_id] = stay.id  # type: ignore[assignment]

    while pending:
        ready = [ln for ln in pending if ln.bed is None or taken.get(ln.bed.id) in (None, ln.stay.id)]  # type: ignore[union-attr]
        if not ready:
            # Only patients in this ward's beds can wait for each other in a ring.
            holder = next(ln for ln in pending if ln.stay.ward_id == ward_id and ln.stay.bed_id is not None)  # type: ignore[union-attr]
            move(holder, None)
            continue
        for line in ready:
            move(line, line.bed.id if line.bed is not None else None)
            pending.remove(line)


def preview(
    session: Session, *, actor: Principal, ward: Ward, found: WardListFile, raw: bytes, discharge_missing: bool,
    now: datetime,
) -> WardListPreview:  # fmt: skip
    planned = plan(session, actor=actor, ward=ward, found=found, raw=raw, discharge_missing=discharge_missing, now=now)
    return planned.preview(has_pas_feed(session, ward.id))  # type: ignore[arg-type]


def import_list(
    session: Session,
    *,
    actor: Principal,
    ward: Ward,
    found: WardListFile,
    raw: bytes,
    discharge_missing: bool,
    expected_plan: str,
    now: datetime,
) -> WardListPreview:
    """Apply the list if it still plans as `expected_plan` (the preview's); else 409 with the new
    preview in the error's detail. The caller commits."""
    planned = plan(session, actor=actor, ward=ward, found=found, raw=raw, discharge_missing=discharge_missing, now=now)
    pas_feed = has_pas_feed(session, ward.id)  # type: ignore[arg-type]
    if planned.fingerprint != expected_plan:
        raise Conflict(
            "The ward or the file has changed since the preview: check the new preview and apply that",
            field="plan",
            detail=planned.preview(pas_feed).model_dump(mode="json"),
        )
    apply(session, actor=actor, found=planned, now=now)
    return planned.preview(pas_feed, applied=True)
