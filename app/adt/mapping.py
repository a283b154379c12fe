"""PAS locations (HL7 PV1-3) to our wards and beds, and PAS discharge codes to ours.

The PAS bed is PV1-3.3, unless the point of care's map row says to build it from PV1-3.2
(room) or from both (room, separator, bed: BAY3-2). Resolution, most specific first:
1. a `paslocation` row for the point of care and PAS bed;
2. the ward: a `paslocation` row for the point of care alone, else the ward whose code equals
   the point of care;
3. the bed (if the PAS sent one): the bed with the PAS bed as its label on the ward.
Anything that does not resolve is an AE naming the PAS code, so the message waits for review.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, bindparam, case, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, or_, select

from app.adt import errors as codes
from app.adt.errors import Invalid
from app.adt.parser import Location, VisitFacts
from app.audit import service as audit
from app.core.errors import RuleViolation
from app.core.principal import Principal
from app.models import Bed, BedLabelFrom, DischargeDestination, PasLocation, Ward

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
# map row, the bed that row maps to, the ward's bed labelled with the PAS bed, and the PAS bed
# itself, built from PV1-3 as the point of care's own map row (`ward_map`, if any) says.
_MAPPED_BED, _LABELLED_BED = aliased(Bed, name="mapped_bed"), aliased(Bed, name="labelled_bed")
_WARD_MAP = aliased(PasLocation, name="ward_map")
_ROOM, _BED = bindparam("room", type_=String), bindparam("bed", type_=String)
_PAS_BED_EXPR = case(
    (_WARD_MAP.bed_label_from == BedLabelFrom.ROOM.value, _ROOM),
    # Both parts joined; one alone if only one was sent (`one_part` is null when both were).
    (
        _WARD_MAP.bed_label_from == BedLabelFrom.ROOM_BED.value,
        func.coalesce(bindparam("one_part", type_=String), _ROOM + _WARD_MAP.bed_label_separator + _BED),
    ),
    else_=_BED,
)
_CANDIDATES = (
    select(Ward, PasLocation, _MAPPED_BED, _LABELLED_BED, _PAS_BED_EXPR.label("pas_bed_key"))
    .outerjoin(
        PasLocation,
        (PasLocation.ward_id == Ward.id) & (PasLocation.pas_point_of_care == bindparam("poc")),  # type: ignore[arg-type]
    )
    .outerjoin(
        _WARD_MAP,
        (_WARD_MAP.pas_point_of_care == bindparam("poc")) & _WARD_MAP.pas_bed.is_(None),  # type: ignore[union-attr]
    )
    .outerjoin(_MAPPED_BED, _MAPPED_BED.id == PasLocation.bed_id)  # type: ignore[arg-type]
    .outerjoin(
        _LABELLED_BED,
        (_LABELLED_BED.ward_id == Ward.id) & (_LABELLED_BED.label == _PAS_BED_EXPR),  # type: ignore[arg-type]
    )
    .where(or_(PasLocation.id.is_not(None), Ward.code == bindparam("poc")))  # type: ignore[union-attr]
)

_FROM_WORDS = {BedLabelFrom.ROOM: " (from PV1-3.2 room)", BedLabelFrom.ROOM_BED: " (from PV1-3.2 room and PV1-3.3 bed)"}


def resolve(session: Session, location: Location, where: str = "PV1-3") -> tuple[int, int | None]:
    """(ward_id, bed_id or None) for a PAS location, or Invalid (AE) if it is not mapped. One query."""
    poc, room, bed_part = location.point_of_care, location.room or None, location.bed or None
    params = {"poc": poc, "room": room, "bed": bed_part, "one_part": None if room and bed_part else room or bed_part}
    rows = session.exec(_CANDIDATES, params=params).all()
    pas_bed = rows[0][4] if rows else None  # the same on every row
    exact = next((r for r in rows if r[1] is not None and pas_bed and r[1].pas_bed == pas_bed), None)
    if exact is not None:
        ward, row, bed, _, _ = exact
        pin(session, ward, bed)
        return row.ward_id, row.bed_id
    # The mapped ward, else the ward whose code is the point of care; the bed by its label.
    mapped = next((r for r in rows if r[1] is not None and r[1].pas_bed is None), None)
    chosen = mapped or next((r for r in rows if r[0].code == poc), None)
    if chosen is None:
        raise Invalid(
            f"{where} PAS location {poc!r} is not mapped to a Boardround ward: add it to the location map",
            code=codes.TABLE_VALUE_NOT_FOUND,
            location=where,
        )
    ward, _, _, bed, _ = chosen
    pin(session, ward, bed)
    if pas_bed and bed is None:
        built = _FROM_WORDS.get(mapped[1].bed_label_from, "") if mapped is not None else ""
        raise Invalid(
            f"{where} PAS bed {pas_bed!r}{built} on {poc!r} is not a bed on the mapped ward: add it to the location map",
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


MAX_SEPARATOR = 5
DEFAULT_SEPARATOR = "-"


def add_mapping(
    session: Session,
    *,
    point_of_care: str,
    pas_bed: str | None,
    ward_code: str,
    bed_label: str | None,
    bed_label_from: BedLabelFrom = BedLabelFrom.BED,
    bed_label_separator: str | None = None,
    actor: Principal | None,
    actor_name: str | None = None,
    now: datetime,
) -> PasLocation:
    """Create or replace one mapping row (used by `boardround adt map`), audited as
    `map_pas_location` (before and after when it replaces a row).

    `bed_label_from` and `bed_label_separator` (room_bed only; default "-") belong to the row
    for a whole point of care: they say how its PAS beds are built from PV1-3.
    """
    point_of_care = point_of_care.strip()
    pas_bed = (pas_bed or "").strip() or None
    if not point_of_care or len(point_of_care) > 40 or (pas_bed and len(pas_bed) > 40):
        raise RuleViolation("PAS codes must be 1 to 40 characters", field="pas_point_of_care")
    bed_label_from = BedLabelFrom(bed_label_from)
    if pas_bed and bed_label_from != BedLabelFrom.BED:
        raise RuleViolation(
            "How PAS beds are built is set on the point of care's own row (without a PAS bed)",
            field="bed_label_from",
        )
    if bed_label_separator is not None and bed_label_from != BedLabelFrom.ROOM_BED:
        raise RuleViolation("A separator is only used with room_bed", field="bed_label_separator")
    separator = ""
    if bed_label_from == BedLabelFrom.ROOM_BED:
        separator = DEFAULT_SEPARATOR if bed_label_separator is None else bed_label_separator
        if len(separator) > MAX_SEPARATOR or not separator.isprintable():
            raise RuleViolation(
                f"The separator must be up to {MAX_SEPARATOR} printable characters", field="bed_label_separator"
            )
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
    values = {
        "ward_id": ward.id,
        "bed_id": bed_id,
        "bed_label_from": bed_label_from.value,
        "bed_label_separator": separator,
    }
    if row is None:
        row = PasLocation(pas_point_of_care=point_of_care, pas_bed=pas_bed, created_at=now, updated_at=now, **values)
        session.add(row)
        session.flush()
        before, after = None, audit.snapshot(row)
    else:
        old = audit.snapshot(row)
        for name, value in values.items():
            setattr(row, name, value)
        before, after = audit.changed(old, audit.snapshot(row))
        if not after:
            return row  # the same mapping again: nothing to write
        row.updated_at = now
        session.flush()
        which = {"pas_point_of_care": row.pas_point_of_care, "pas_bed": row.pas_bed}
        before, after = which | before, which | after
    audit.record(
        session,
        actor=actor,
        actor_name=actor_name,
        action="map_pas_location",
        entity=row,
        at=now,
        before=before,
        after=after,
        ward_id=row.ward_id,
    )
    return row
