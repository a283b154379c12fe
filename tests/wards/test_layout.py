"""The hospital layout from a file: plan, apply, apply again (nothing changes), change the file."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.models import AuditEvent, Bed, Site, Ward
from app.wards import layout
from tests import factories

FIRST = {
    "site": {"code": "RDAY1", "name": "Day One General"},
    "wards": [
        {
            "code": "DAY-AMU",
            "name": "Acute Medical Unit",
            "specialty": "Acute medicine",
            "beds": ["A1", "A2", {"label": "A3"}, {"label": "E1", "kind": "escalation"}],
        },
        {"code": "DAY-W2", "name": "Ward 2", "beds": ["1", "2"]},
    ],
}


def _run(db, data, now, **kw):  # noqa: ANN001
    found = layout.plan(db, layout.parse(data), now=now, actor_name="cli:test", **kw)
    if not found.problems:
        layout.apply(db, found)
        db.flush()
    return found


def _beds(db, code):  # noqa: ANN001
    ward = db.exec(select(Ward).where(Ward.code == code)).one()
    beds = sorted(factories.beds_of(db, ward), key=lambda b: (b.sort_order, b.label))  # as the board orders them
    return [(b.label, b.sort_order, b.is_escalation, b.state_code) for b in beds]


def test_a_hospital_from_a_file_and_the_same_file_again(db, now):
    found = _run(db, FIRST, now)
    assert found.changes[:3] == [
        "Create site RDAY1 (Day One General)",
        "Create ward DAY-AMU (Acute Medical Unit)",
        "Add bed A1 to ward DAY-AMU",
    ]
    assert "Add bed E1 to ward DAY-AMU (escalation bed, closed until opened)" in found.changes
    assert _beds(db, "DAY-AMU") == [
        ("A1", 0, False, "open"),
        ("A2", 1, False, "open"),
        ("A3", 2, False, "open"),
        ("E1", 3, True, "closed"),
    ]
    ward = db.exec(select(Ward).where(Ward.code == "DAY-AMU")).one()
    assert ward.specialty == "Acute medicine" and db.get(Site, ward.site_id).code == "RDAY1"
    events = db.exec(select(AuditEvent).where(AuditEvent.actor_name == "cli:test")).all()
    assert len(events) == 1 + 2 + 6 and all(e.actor_id is None for e in events)
    again = _run(db, FIRST, now)
    assert again.steps == [] and again.problems == [] and again.notes == []


def test_a_changed_file_relabels_reorders_and_adds_but_keeps_missing_beds(db, now, nurse_principal):
    _run(db, FIRST, now)
    a1 = db.exec(select(Bed).where(Bed.label == "A1")).first()
    changed = {
        "site": {"code": "RDAY1", "name": "Day One General Hospital"},
        "wards": [
            {
                "code": "DAY-AMU",
                "name": "Acute Medical Unit",
                "beds": [{"label": "BAY1-1", "renamed_from": "A1"}, "A3", "A2", "A4"],
            }
        ],
    }
    found = _run(db, changed, now)
    assert found.problems == []
    assert found.changes == [
        "Rename site RDAY1: 'Day One General' to 'Day One General Hospital'",
        "Update bed BAY1-1 on ward DAY-AMU: relabel A1 as BAY1-1",
        "Update bed A3 on ward DAY-AMU: order",
        "Update bed A2 on ward DAY-AMU: order",
        "Add bed A4 to ward DAY-AMU",
    ]
    assert found.notes == ["Bed E1 on ward DAY-AMU is not in the file: kept (--retire-missing retires it)"]
    assert db.get(Bed, a1.id).label == "BAY1-1"  # the same bed: its history stays with it
    # E1, not in the file, keeps its place (4th): A4 shares it and comes first by label.
    assert [b[0] for b in _beds(db, "DAY-AMU")] == ["BAY1-1", "A3", "A2", "A4", "E1"]
    # Again: found by its new label, nothing to do. The specialty was left out, so it is kept.
    assert _run(db, changed, now).steps == []
    assert db.exec(select(Ward).where(Ward.code == "DAY-AMU")).one().specialty == "Acute medicine"


def test_an_occupied_bed_is_never_retired(db, now):
    _run(db, FIRST, now)
    ward = db.exec(select(Ward).where(Ward.code == "DAY-W2")).one()
    manager = factories.principal(db, factories.make_user(db, "ward_manager", wards=[ward]))
    factories.make_stay(db, manager, ward, factories.beds_of(db, ward)[1])
    fewer = {"site": FIRST["site"], "wards": [{"code": "DAY-W2", "name": "Ward 2", "beds": []}]}
    found = _run(db, fewer, now, retire_missing=True)
    assert found.problems == [
        "Bed 2 on ward DAY-W2 has a patient in it: move or discharge them before removing the bed, "
        "or keep it in the file"
    ]
    with pytest.raises(layout.LayoutError):
        layout.apply(db, found)
    assert all(b.retired_at is None for b in factories.beds_of(db, ward))
    found = _run(db, {"site": FIRST["site"], "wards": [{"code": "DAY-W2", "name": "Ward 2", "beds": ["2"]}]}, now,
                 retire_missing=True)  # fmt: skip
    assert found.changes == ["Update bed 2 on ward DAY-W2: order", "Retire bed 1 on ward DAY-W2 (not in the file)"]
    by_label = sorted(factories.beds_of(db, ward), key=lambda b: b.label)
    assert [(b.label, b.retired_at is not None) for b in by_label] == [("1", True), ("2", False)]
    # Back in the file: the same bed comes back.
    found = _run(db, {"site": FIRST["site"], "wards": [{"code": "DAY-W2", "name": "Ward 2", "beds": ["1", "2"]}]},
                 now)  # fmt: skip
    assert found.changes == [
        "Update bed 1 on ward DAY-W2: bring back (retired)",
        "Update bed 2 on ward DAY-W2: order",
    ]


def test_sponsors_by_username_and_problems_stop_everything(db, now):
    factories.make_user(db, "executive_sponsor", username="dr.sponsor")
    factories.make_user(db, "nurse", username="not.a.sponsor")
    data = {
        "site": FIRST["site"],
        "wards": [
            {"code": "DAY-S1", "name": "S1", "executive_sponsor": "dr.sponsor", "beds": ["1"]},
            {"code": "DAY-S2", "name": "S2", "executive_sponsor": "not.a.sponsor"},
        ],
    }
    found = _run(db, data, now)
    assert found.problems == [
        "Ward DAY-S2: no active user 'not.a.sponsor' with the role executive_sponsor"
        " (create them first: boardround user create)"
    ]
    assert db.exec(select(Site).where(Site.code == "RDAY1")).first() is None
    data["wards"].pop()
    _run(db, data, now)
    ward = db.exec(select(Ward).where(Ward.code == "DAY-S1")).one()
    assert ward.executive_sponsor_id is not None
    data["wards"][0]["executive_sponsor"] = ""
    assert _run(db, data, now).changes == ["Update ward DAY-S1: executive sponsor"]
    assert ward.executive_sponsor_id is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"wards": []}, "site: Field required"),
        ({"site": {"code": "R1", "name": "X"}, "wards": [{"code": "W", "name": "W", "beds": ["1", "1"]}]},
         "wards.0: Value error, ward W: bed labels listed twice: 1"),
        ({"site": {"code": "R1", "name": "X"}, "wards": [{"code": "W", "name": "W", "beds": [{"label": "1",
          "kind": "chair"}]}]}, "wards.0.beds.0.kind: Input should be 'standard' or 'escalation'"),
        ({"site": {"code": "R1", "name": "X"}, "wards": [{"code": "W", "name": "W"}, {"code": "W", "name": "V"}]},
         "file: Value error, ward codes listed twice: W"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_a_layout_says_where(data, message):
    with pytest.raises(layout.LayoutError) as caught:
        layout.parse(data)
    assert caught.value.messages == [message.replace("Value error, ", "")]


def test_the_example_in_docs_setup_is_a_layout(db, now):
    import re

    import yaml

    from app.config import PROJECT_ROOT

    text = (PROJECT_ROOT / "docs" / "setup.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    data = yaml.load(example, Loader=yaml.BaseLoader)  # noqa: S506 - as boardround setup reads it
    factories.make_user(db, "executive_sponsor", username="s.okafor")
    found = _run(db, data, now)
    assert found.problems == [] and len(found.steps) == 1 + 2 + 8
    assert _beds(db, "W07")[0][0] == "01"
