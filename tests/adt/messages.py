"""Realistic HL7 v2 ADT test messages (invented patients, test-range NHS numbers)."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.core.clock import LONDON
from tests.factories import test_nhs_number

_ids = itertools.count(1)

NHS = "9434765919"  # valid checksum (domain.md worked example)
MRN = "K100001"


def control_id() -> str:
    return f"MSG{next(_ids):08d}"


def hl7_time(moment: datetime, *, local: bool = True) -> str:
    """London wall-clock time without zone (what most PAS send), or UTC with +0000."""
    if local:
        return moment.astimezone(LONDON).strftime("%Y%m%d%H%M%S")
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def adt(
    event: str,
    *,
    control: str | None = None,
    version: str = "2.5.1",
    sent: str = "20260310100000",
    evn_time: str = "",
    nhs: str | None = NHS,
    mrn: str | None = MRN,
    family: str = "SMITH",
    given: str = "ANN",
    dob: str = "19400517",
    sex: str = "F",
    visit: str | None = "V0001",
    location: str = "W1^^B01^RXX01^^N",
    prior_location: str = "",
    patient_class: str = "I",
    attending: str = "C1234567^JONES^MARK^^^DR",
    admit: str = "20260310090000",
    discharge: str = "",
    disposition: str = "",
    destination: str = "",
    extra: list[str] | None = None,
    pv1: bool = True,
    sep: str = "\r",
) -> str:
    """One ADT message. Identifiers: NHS number (CX.4 NHS, CX.5 NH) then hospital number (MR)."""
    control = control or control_id()
    ids = []
    if nhs is not None:
        ids.append(f"{nhs}^^^NHS^NH")
    if mrn is not None:
        ids.append(f"{mrn}^^^RXX^MR")
    msg_type = f"ADT^{event}^ADT_A01" if version >= "2.4" else f"ADT^{event}"
    segments = [
        f"MSH|^~\\&|PAS|RXX|BOARDROUND|RXX|{sent}||{msg_type}|{control}|P|{version}|||AL|NE",
        f"EVN|{event}|{sent}|||PASUSER|{evn_time}",
        f"PID|1||{'~'.join(ids)}||{family}^{given}^^^MRS^^L||{dob}|{sex}|||1 HIGH STREET^^LEEDS^^LS1 1AA^GBR||0113 000000",
    ]
    if pv1:
        fields = [""] * 46
        fields[1] = "1"
        fields[2] = patient_class
        fields[3] = location
        fields[6] = prior_location
        fields[7] = attending
        fields[10] = "300"
        fields[19] = visit or ""
        fields[36] = disposition
        fields[37] = destination
        fields[44] = admit
        fields[45] = discharge
        segments.append("PV1|" + "|".join(fields[1:]).rstrip("|"))
    segments.extend(extra or [])
    return sep.join(segments) + sep


def ack_fields(ack: str) -> dict[str, str]:
    """MSA-1, MSA-2, MSA-3 and the ERR segment of an ACK, read with the hl7 package."""
    import hl7

    message = hl7.parse(ack.replace("\n", "\r"))
    out = {
        "code": message.extract_field("MSA", 1, 1, 1, 1),
        "control_id": message.extract_field("MSA", 1, 2, 1, 1),
        "text": message.extract_field("MSA", 1, 3, 1, 1) if len(message.segment("MSA")) > 3 else "",
        "type": message.extract_field("MSH", 1, 9, 1, 1),
    }
    try:
        out["err"] = str(message.segment("ERR"))
    except KeyError:
        out["err"] = ""
    return out


# -- a busy day's feed, for the listener tests and bench/adt_throughput.py ------------------------


@dataclass
class Workload:
    streams: list[list[str]]  # messages per connection, in the order they must arrive
    current: dict[str, tuple[str, str]]  # visit number -> (ward code, bed label) at the end
    discharged: set[str]
    admitted: int

    @property
    def total(self) -> int:
        return sum(len(s) for s in self.streams)


def workload(
    total: int,
    *,
    connections: int,
    wards: tuple[str, ...] = ("W1", "W2"),
    beds_per_ward: int = 20,
    end: datetime,
    prefix: str = "L",
    seed: int = 1,
    nhs_base: int = 100_000,
) -> Workload:
    """Admissions, transfers and discharges across the wards, `total` messages in all.

    Each connection owns its own beds, so its messages are consistent on their own and the
    connections can run concurrently. Times run a minute apart per connection, ending before
    `end`, in London local time without zone (as most PAS send).
    """
    rng = random.Random(seed)
    beds = [(w, f"B{b + 1:02d}") for w in wards for b in range(beds_per_ward)]
    owned = [beds[c::connections] for c in range(connections)]
    per_stream = [total // connections + (1 if c < total % connections else 0) for c in range(connections)]
    streams: list[list[str]] = []
    current: dict[str, tuple[str, str]] = {}
    discharged: set[str] = set()
    admitted = 0
    patient_no = itertools.count(nhs_base)
    for c in range(connections):
        stream: list[str] = []
        free = list(owned[c])
        occupied: dict[str, tuple[tuple[str, str], int, str, str]] = {}  # visit -> (bed, moves, nhs, mrn)
        moment = end - timedelta(minutes=per_stream[c] + 5)
        for i in range(per_stream[c]):
            moment += timedelta(minutes=1)
            when = hl7_time(moment)
            control = f"{prefix}-{c}-{i}"
            choice = rng.random()
            if free and (not occupied or choice < 0.4):
                bed = free.pop(rng.randrange(len(free)))
                n = next(patient_no)
                visit, nhs, mrn = f"{prefix}V{n}", test_nhs_number(n * 13), f"{prefix}{n}"
                occupied[visit] = (bed, 0, nhs, mrn)
                admitted += 1
                stream.append(
                    adt(
                        "A01",
                        control=control,
                        sent=when,
                        visit=visit,
                        nhs=nhs,
                        mrn=mrn,
                        family=f"PATIENT{n}",
                        location=f"{bed[0]}^^{bed[1]}",
                        admit=when,
                    )
                )
                continue
            visit = rng.choice(sorted(occupied))
            bed, moves, nhs, mrn = occupied[visit]
            if free and moves < 2 and choice < 0.75:
                new_bed = free.pop(rng.randrange(len(free)))
                free.append(bed)
                occupied[visit] = (new_bed, moves + 1, nhs, mrn)
                stream.append(
                    adt(
                        "A02",
                        control=control,
                        sent=when,
                        evn_time=when,
                        visit=visit,
                        nhs=nhs,
                        mrn=mrn,
                        location=f"{new_bed[0]}^^{new_bed[1]}",
                        prior_location=f"{bed[0]}^^{bed[1]}",
                        admit="",
                    )
                )
            else:
                del occupied[visit]
                free.append(bed)
                discharged.add(visit)
                stream.append(
                    adt(
                        "A03",
                        control=control,
                        sent=when,
                        visit=visit,
                        nhs=nhs,
                        mrn=mrn,
                        location=f"{bed[0]}^^{bed[1]}",
                        admit="",
                        discharge=when,
                        destination="19",
                    )
                )
        streams.append(stream)
        current.update({visit: bed for visit, (bed, _m, _n, _r) in occupied.items()})
    return Workload(streams=streams, current=current, discharged=discharged, admitted=admitted)
