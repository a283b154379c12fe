"""`boardround ward import WARD FILE --as USER`: preview, apply, apply again; both databases."""

from __future__ import annotations

from sqlmodel import Session, select

from app.models import AuditEvent, Stay, User, UserWard, Ward
from tests import factories

LAYOUT = "site:\n  code: RDAY3\n  name: Day Three\nwards:\n  - code: AMU\n    name: AMU\n    beds: [B1, B2, B3]\n"


def _people(*beds: str) -> bytes:
    rows = ["Bed;NHS Number;MRN;Surname;Forename;DOB;Sex;Admission Date"]
    for n, bed in enumerate(beds, start=1):
        nhs = factories.test_nhs_number(7100 + n)
        rows.append(f"{bed};{nhs[:3]} {nhs[3:6]} {nhs[6:]};CLI{n};Family{n};Given{n};0{n}/01/1950;F;09/03/2026 10:00")
    return "\r\n".join(rows).encode("utf-8-sig")


def test_import_a_ward_list_from_the_command_line(run, cli_engine, tmp_path):
    layout = tmp_path / "hospital.yaml"
    layout.write_text(LAYOUT)
    assert run("setup", layout).exit_code == 0
    with Session(cli_engine) as session:
        ward = session.exec(select(Ward).where(Ward.code == "AMU")).one()
        manager = User(username="wm.amu", display_name="Wendy Manager", role_code="ward_manager")
        nurse = User(username="n.amu", display_name="Nia Nurse", role_code="nurse")
        session.add_all([manager, nurse])
        session.flush()
        session.add_all([UserWard(user_id=manager.id, ward_id=ward.id), UserWard(user_id=nurse.id, ward_id=ward.id)])
        session.commit()
    file = tmp_path / "wardlist.csv"
    file.write_bytes(_people("B1", "B2"))

    shown = run("ward", "import", "AMU", file, "--as", "wm.amu")
    assert shown.exit_code == 0, shown.output
    assert "Read as UTF-8 text separated by semicolons; 2 rows" in shown.output
    assert "  line 2     B1       admit       Admit to bed B1\n" in shown.output
    assert "Preview only: nothing was changed" in shown.output
    assert "Family1" not in shown.output and "CLI1" not in shown.output  # no patient named
    with Session(cli_engine) as session:
        assert session.exec(select(Stay)).all() == []

    done = run("ward", "import", "AMU", file, "--as", "wm.amu", "--apply")
    assert done.exit_code == 0 and done.output.endswith("Applied.\n"), done.output
    with Session(cli_engine) as session:
        assert len(session.exec(select(Stay)).all()) == 2
        admitted_by = set(session.exec(select(AuditEvent.actor_name).where(AuditEvent.action == "admit")))
        assert admitted_by == {"Wendy Manager"}
        count = len(session.exec(select(AuditEvent)).all())
    again = run("ward", "import", "AMU", file, "--as", "wm.amu", "--apply")
    assert again.exit_code == 0 and "2 unchanged" in again.output
    with Session(cli_engine) as session:
        assert len(session.exec(select(AuditEvent)).all()) == count

    file.write_bytes(_people("B2"))  # patient 2 has gone home; patient 1 has moved into B2
    shown = run("ward", "import", "AMU", file, "--as", "wm.amu", "--discharge-missing", "--apply")
    assert shown.exit_code == 0, shown.output
    assert "B2       discharge   Not on the list: discharged" in shown.output
    assert "  line 2     B2       move        Move from bed B1 to bed B2\n" in shown.output
    with Session(cli_engine) as session:
        assert len(session.exec(select(Stay).where(Stay.discharged_at.is_not(None))).all()) == 1

    refused = run("ward", "import", "AMU", file, "--as", "n.amu")
    assert refused.exit_code == 1 and "may not import ward lists" in refused.output
    assert run("ward", "import", "NOPE", file, "--as", "wm.amu").exit_code == 1
    file.write_bytes(b"bed,mrn\n1,2\n")
    bad = run("ward", "import", "AMU", file, "--as", "wm.amu")
    assert bad.exit_code == 1 and "must name these columns" in bad.output
