"""PAS locations (HL7 PV1-3) to our wards and beds, and PAS discharge codes to ours.

Resolution, most specific first:
1. a `paslocation` row for the point of care and bed;
2. the ward: a `paslocation` row for the point of care alone, else the ward whose code equals
   the point of care;
3. the bed (if the PAS sent one): the bed with that label on the ward.
Anything that does not resolve is an AE naming the PAS code, so the message waits for review.
"""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlalchemy.orm import aliased
from sqlmodel import Session, or_, select

from app.adt import errors as codes
from app.adt.errors import Invalid
from app.adt.parser import Location, VisitFacts
from app.core.errors import RuleViolation
from app.models import Bed, DischargeDestination, PasLocation, Ward

UNKNOWN_DESTINATION = "99"
# NHS Data Dictionary discharge method 4: patient died (sent in PV1-36 by many English PAS).
DIED_METHODS = {"4"}
DIED_DESTINATION = DischargeDestination.DIED


PINS = "adt_pins"


def pin(session: Session, *objects: object) -> None:
    """Hold loaded rows for the rest of the transaction, so the stay services' own lookups of
    the same ward, bed or destination are answered from the session (the identity map only
    keeps rows someone references)."""
    session.info.setdefault(PINS, []).extend(o for o in objects if o is not None)


def unpin(session: Session) -> None:
    session.info.pop(PINS, None)


# Built once (it runs for most messages, and building it costs more than running it): every
# ward that a map row for the point of care names, or whose code is the point of care, with the
# map row, the bed that row maps to, and the ward's bed with the PAS bed label.
_MAPPED_BED, _LABELLED_BED = aliased(Bed, name="mapped_bed"), aliased(Bed, name="labelled_bed")
_CANDIDATES = (
    select(Ward, PasLocation, _MAPPED_BED, _LABELLED_BED)
    .outerjoin(
        PasLocation,
        (PasLocation.ward_id == Ward.id) & (PasLocation.pas_point_of_care == bindparam("poc")),  # type: ignore[arg-type]
    )
    .outerjoin(_MAPPED_BED, _MAPPED_BED.id == PasLocation.bed_id)  # type: ignore[arg-type]
    .outerjoin(
        _LABELLED_BED,
        (_LABELLED_BED.ward_id == Ward.id) & (_LABELLED_BED.label == bindparam("bed_label")),  # type: ignore[arg-type]
    )
    .where(or_(PasLocation.id.is_not(None), Ward.code == bindparam("poc")))  # type: ignore[union-attr]
)


def resolve(session: Session, location: Location, where: str = "PV1-3") -> tuple[int, int | None]:
    """(ward_id, bed_id or None) for a PAS location, or Invalid (AE) if it is not mapped. One query."""
    poc, bed_label = location.point_of_care, location.bed
    rows = session.exec(_CANDIDATES, params={"poc": poc, "bed_label": bed_label or None}).all()
    exact = next((r for r in rows if r[1] is not None and bed_label and r[1].pas_bed == bed_label), None)
    if exact is not None:
        ward, row, bed, _ = exact
        pin(session, ward, bed)
        return row.ward_id, row.bed_id
    # The mapped ward, else the ward whose code is the point of care; the bed by its label.
    chosen = next((r for r in rows if r[1] is not None and r[1].pas_bed is None), None)
    chosen = chosen or next((r for r in rows if r[0].code == poc), None)
    if chosen is None:
        raise Invalid(
            f"{where} PAS location {poc!r} is not mapped to a Boardround ward: add it to the location map",
            code=codes.TABLE_VALUE_NOT_FOUND,
            location=where,
        )
    ward, _, _, bed = chosen
    pin(session, ward, bed)
    if bed_label and bed is None:
        raise Invalid(
            f"{where} PAS bed {bed_label!r} on {poc!r} is not a bed on the mapped ward: add it to the location map",
            code=codes.TABLE_VALUE_NOT_FOUND,
            location=where,
        )
    return ward.id, bed.id if bed is not None else None  # type: ignore[return-value]


def destination(session: Session, visit: VisitFacts) -> str:
    """Our discharge destination code: PV1-37 if it is one of ours, died from PV1-36, else 99."""
    for candidate in (visit.destination, visit.disposition):
        found = session.get(DischargeDestination, candidate) if candidate else None
        if found is not None:
            pin(session, found)
            return candidate
    if visit.disposition in DIED_METHODS:
        return DIED_DESTINATION
    return UNKNOWN_DESTINATION


def add_mapping(
    session: Session, *, point_of_care: str, pas_bed: str | None, ward_code: str, bed_label: str | None
) -> PasLocation:
    """Create or replace one mapping row (used by `boardround adt map`)."""
    point_of_care = point_of_care.strip()
    pas_bed = (pas_bed or "").strip() or None
    if not point_of_care or len(point_of_care) > 40 or (pas_bed and len(pas_bed) > 40):
        raise RuleViolation("PAS codes must be 1 to 40 characters", field="pas_point_of_care")
    ward = session.exec(select(Ward).where(Ward.code == ward_code)).first()
    if ward is None:
        raise RuleViolation(f"No ward with code {ward_code!r}", field="ward")
    bed_id = None
    if bed_label:
        if pas_bed is None:
            raise RuleViolation("A Boardround bed can only be mapped from a PAS bed", field="bed")
        bed = session.exec(select(Bed).where(Bed.ward_id == ward.id, Bed.label == bed_label)).first()
        if bed is None:
            raise RuleViolation(f"No bed {bed_label!r} on ward {ward_code!r}", field="bed")
        bed_id = bed.id
    query = select(PasLocation).where(PasLocation.pas_point_of_care == point_of_care)
    query = query.where(PasLocation.pas_bed == pas_bed if pas_bed else PasLocation.pas_bed.is_(None))  # type: ignore[union-attr]
    row = session.exec(query).first()
    if row is None:
        row = PasLocation(pas_point_of_care=point_of_care, pas_bed=pas_bed, ward_id=ward.id, bed_id=bed_id)
        session.add(row)
    else:
        row.ward_id, row.bed_id = ward.id, bed_id
    session.flush()
    return row
