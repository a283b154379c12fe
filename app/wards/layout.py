"""The hospital's layout from a file: one site, its wards, their beds (`boardround setup FILE`).

The file describes how things should be; `plan` compares it with the database and lists what
would change, `apply` makes those changes through the ward services (audited, as the command
line). Running the same file twice changes nothing. A changed file adds wards and beds, updates
names, specialties, sponsors, bed labels (a bed names its old label in `renamed_from`), order and
kind; beds missing from the file are kept unless asked to retire them, and a bed with a patient in
it is never retired. Anything that cannot be done is a problem, and then nothing is done.
docs/setup.md documents the format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlmodel import Session, col, select

from app.core.types import BedLabel, Label, ShortText, SiteCode, Specialty, WardCode
from app.models import Bed, Site, Stay, User, Ward
from app.wards import service
from app.wards.schemas import BedCreate, SiteCreate, WardCreate

MAX_BEDS_PER_WARD = 500
MAX_WARDS = 500


class BedLayout(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: BedLabel
    kind: Literal["standard", "escalation"] = "standard"
    # The label this bed had before, to relabel it (its id and history stay).
    renamed_from: BedLabel | None = None


class WardLayout(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: WardCode
    name: Label
    specialty: Specialty = ""
    # Username of a user with the role executive_sponsor (null: no sponsor).
    executive_sponsor: ShortText | None = None
    beds: list[BedLayout] = Field(default_factory=list, max_length=MAX_BEDS_PER_WARD)

    @field_validator("beds", mode="before")
    @classmethod
    def _labels_alone(cls, value: object) -> object:
        """A bed may be written as its label alone (`- B01`)."""
        if isinstance(value, list):
            return [{"label": b} if isinstance(b, str) else b for b in value]
        return value

    @field_validator("executive_sponsor", mode="before")
    @classmethod
    def _no_sponsor(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip().lower() in ("", "null", "~", "none") else value

    @model_validator(mode="after")
    def _unique_labels(self) -> WardLayout:
        labels = [b.label for b in self.beds]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(f"ward {self.code}: bed labels listed twice: {', '.join(twice)}")
        old = [b.renamed_from for b in self.beds if b.renamed_from]
        if len(old) != len(set(old)):
            raise ValueError(f"ward {self.code}: two beds are renamed from the same label")
        return self


class SiteLayout(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: SiteCode
    name: Label


class Layout(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: SiteLayout
    wards: list[WardLayout] = Field(default_factory=list, max_length=MAX_WARDS)

    @model_validator(mode="after")
    def _unique_wards(self) -> Layout:
        codes = [w.code for w in self.wards]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"ward codes listed twice: {', '.join(twice)}")
        return self


class LayoutError(ValueError):
    """The file does not describe a layout: each message names where."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def parse(data: Any) -> Layout:
    """The layout from a loaded YAML document, or LayoutError naming each problem's place."""
    try:
        return Layout.model_validate(data)
    except ValidationError as exc:
        messages = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "file"
            messages.append(f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
        raise LayoutError(messages) from None


# The plan -----------------------------------------------------------------------------------


@dataclass
class Step:
    """One change, described for people, and how to make it."""

    text: str
    run: Callable[[], None]


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # kept as they are, for information

    @property
    def changes(self) -> list[str]:
        return [s.text for s in self.steps]


class _Planner:
    def __init__(
        self, session: Session, layout: Layout, *, now: datetime, actor_name: str, retire_missing: bool
    ) -> None:
        self.session, self.layout, self.now = session, layout, now
        self.actor_name, self.retire_missing = actor_name, retire_missing
        self.plan = Plan()
        self.site: Site | None = None

    def step(self, text: str, run: Callable[[], None]) -> None:
        self.plan.steps.append(Step(text, run))

    def audit(self) -> dict[str, Any]:
        return {"actor": None, "actor_name": self.actor_name, "now": self.now}

    def build(self) -> Plan:
        self._site()
        for ward in self.layout.wards:
            self._ward(ward)
        return self.plan

    def _site(self) -> None:
        want = self.layout.site
        self.site = self.session.exec(select(Site).where(Site.code == want.code)).first()
        if self.site is None:

            def create() -> None:
                self.site = service.create_site(
                    self.session, data=SiteCreate(code=want.code, name=want.name), **self.audit()
                )

            self.step(f"Create site {want.code} ({want.name})", create)
        elif self.site.name != want.name:
            site = self.site
            self.step(
                f"Rename site {want.code}: {site.name!r} to {want.name!r}",
                lambda: service.update_site(
                    self.session, site=site, changes={"name": want.name}, expected_version=site.version, **self.audit()
                ),
            )

    def _sponsor(self, want: WardLayout) -> tuple[bool, int | None]:
        """(whether the file sets the sponsor, the user id)."""
        if "executive_sponsor" not in want.model_fields_set:
            return False, None
        if want.executive_sponsor is None:
            return True, None
        user = self.session.exec(select(User).where(User.username == want.executive_sponsor.lower())).first()
        if user is None or user.role_code != service.SPONSOR_ROLE or not user.is_active:
            self.plan.problems.append(
                f"Ward {want.code}: no active user {want.executive_sponsor!r} with the role executive_sponsor"
                " (create them first: boardround user create)"
            )
            return False, None
        return True, user.id

    def _ward(self, want: WardLayout) -> None:
        ward = self.session.exec(select(Ward).where(Ward.code == want.code)).first()
        sets_sponsor, sponsor_id = self._sponsor(want)
        if ward is None:
            holder: dict[str, Ward] = {}

            def create() -> None:
                assert self.site is not None
                holder["ward"] = service.create_ward(
                    self.session,
                    data=WardCreate(
                        site_id=self.site.id,  # type: ignore[arg-type]
                        code=want.code,
                        name=want.name,
                        specialty=want.specialty,
                        executive_sponsor_id=sponsor_id,
                    ),
                    **self.audit(),
                )

            self.step(f"Create ward {want.code} ({want.name})", create)
            for n, bed in enumerate(want.beds):
                self._add_bed(lambda: holder["ward"], want.code, bed, n)
            return
        if self.site is not None and ward.site_id != self.site.id:
            self.plan.problems.append(f"Ward {want.code} belongs to another site: its code must be unique")
            return
        changes: dict[str, Any] = {}
        if ward.name != want.name:
            changes["name"] = want.name
        if "specialty" in want.model_fields_set and ward.specialty != want.specialty:
            changes["specialty"] = want.specialty
        if sets_sponsor and ward.executive_sponsor_id != sponsor_id:
            changes["executive_sponsor_id"] = sponsor_id
        if changes:
            shown = ", ".join(k.removesuffix("_id").replace("_", " ") for k in changes)
            self.step(
                f"Update ward {want.code}: {shown}",
                lambda: service.update_ward(
                    self.session, ward=ward, changes=changes, expected_version=ward.version, **self.audit()
                ),
            )
        self._beds(ward, want)

    def _add_bed(self, ward: Callable[[], Ward], code: str, bed: BedLayout, order: int) -> None:
        escalation = bed.kind == "escalation"
        self.step(
            f"Add bed {bed.label} to ward {code}" + (" (escalation bed, closed until opened)" if escalation else ""),
            lambda: service.add_bed(
                self.session,
                ward=ward(),
                data=BedCreate(label=bed.label, sort_order=order, is_escalation=escalation, is_open=not escalation),
                **self.audit(),
            ),
        )

    def _beds(self, ward: Ward, want: WardLayout) -> None:
        beds = {b.label: b for b in self.session.exec(select(Bed).where(Bed.ward_id == ward.id))}
        occupied = set(
            self.session.exec(
                select(Stay.bed_id).where(Stay.ward_id == ward.id, col(Stay.discharged_at).is_(None))
            ).all()
        )
        # A bed is the one with the label, else the one it is renamed from (so running the file
        # again, after the rename, finds it by its new label).
        matched: dict[str, Bed] = {}
        claimed: dict[int, str] = {}
        for spec in want.beds:
            bed = beds.get(spec.label) or (beds.get(spec.renamed_from) if spec.renamed_from else None)
            if bed is None:
                continue
            if bed.id in claimed:
                self.plan.problems.append(
                    f"Ward {want.code}: beds {claimed[bed.id]} and {spec.label} are both bed {bed.label}"
                    " (a chain or swap of labels takes two runs)"
                )
                continue
            claimed[bed.id] = spec.label  # type: ignore[index]
            matched[spec.label] = bed
        new: list[tuple[int, BedLayout]] = []
        for n, spec in enumerate(want.beds):
            bed = matched.get(spec.label)
            if bed is None:
                new.append((n, spec))  # after the relabels, which may free its label
                continue
            changes: dict[str, Any] = {}
            if bed.label != spec.label:
                changes["label"] = spec.label
            if bed.sort_order != n:
                changes["sort_order"] = n
            if bed.is_escalation != (spec.kind == "escalation"):
                changes["is_escalation"] = spec.kind == "escalation"
            if bed.retired_at is not None:
                changes["retired"] = False
            if changes:
                words = {
                    "label": f"relabel {bed.label} as {spec.label}",
                    "sort_order": "order",
                    "is_escalation": "kind",
                }
                shown = ", ".join(words.get(k, "bring back (retired)") for k in changes)
                self.step(f"Update bed {spec.label} on ward {want.code}: {shown}", self._update(bed, changes))
        for n, spec in new:
            self._add_bed(lambda: ward, want.code, spec, n)
        for bed in sorted(beds.values(), key=lambda b: (b.sort_order, b.label)):
            if bed.id in claimed or bed.retired_at is not None:
                continue
            if not self.retire_missing:
                self.plan.notes.append(
                    f"Bed {bed.label} on ward {want.code} is not in the file: kept (--retire-missing retires it)"
                )
            elif bed.id in occupied:
                self.plan.problems.append(
                    f"Bed {bed.label} on ward {want.code} has a patient in it: move or discharge them before"
                    " removing the bed, or keep it in the file"
                )
            else:
                self.step(
                    f"Retire bed {bed.label} on ward {want.code} (not in the file)",
                    self._update(bed, {"retired": True}),
                )

    def _update(self, bed: Bed, changes: dict[str, Any]) -> Callable[[], None]:
        def run() -> None:
            service.update_bed(self.session, bed=bed, changes=changes, expected_version=bed.version, **self.audit())

        return run


def plan(session: Session, layout: Layout, *, now: datetime, actor_name: str, retire_missing: bool = False) -> Plan:
    """What applying the layout would change (nothing is written)."""
    return _Planner(session, layout, now=now, actor_name=actor_name, retire_missing=retire_missing).build()


def apply(session: Session, found: Plan) -> None:
    """Make the planned changes in the caller's transaction (refused if the plan has problems)."""
    if found.problems:
        raise LayoutError(found.problems)
    for step in found.steps:
        step.run()
