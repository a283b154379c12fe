"""`boardround setup FILE`: a hospital from a YAML file, on both databases."""

from __future__ import annotations

from sqlmodel import Session, select

from app.models import AuditEvent, Bed, BedStatePeriod, Site, Ward

LAYOUT = """\
# Day One General: the first two wards
site:
  code: RDAY2
  name: Day One General
wards:
  - code: AMU
    name: Acute Medical Unit
    specialty: Acute medicine
    beds: [A1, A2, "A3"]
  - code: W07
    name: Ward 7
    beds:
      - 01
      - 02
      - label: E1
        kind: escalation
"""


def test_setup_from_a_file_then_again_then_changed(run, cli_engine, tmp_path):
    path = tmp_path / "hospital.yaml"
    path.write_text(LAYOUT)
    dry = run("setup", path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would make these changes (dry run: nothing was changed):" in dry.output
    assert "  Add bed 01 to ward W07" in dry.output
    with Session(cli_engine) as session:
        assert session.exec(select(Site)).all() == []

    done = run("setup", path)
    assert done.exit_code == 0, done.output
    assert done.output.endswith("Done: 9 changes.\n")
    with Session(cli_engine) as session:
        ward = session.exec(select(Ward).where(Ward.code == "W07")).one()
        beds = session.exec(select(Bed).where(Bed.ward_id == ward.id).order_by(Bed.sort_order)).all()
        # Labels stay text: 01 is not the number 1.
        assert [(b.label, b.state_code) for b in beds] == [("01", "open"), ("02", "open"), ("E1", "closed")]
        assert len(session.exec(select(BedStatePeriod)).all()) == 6
        actors = set(session.exec(select(AuditEvent.actor_name)).all())
        assert len(actors) == 1 and actors.pop().startswith("cli:")

    again = run("setup", path)
    assert again.exit_code == 0 and again.output == "Nothing to change: the hospital already matches hospital.yaml\n"

    path.write_text(LAYOUT.replace("- 02", "- label: BED-2\n        renamed_from: 02").replace("[A1, A2", "[A1"))
    changed = run("setup", path, "--retire-missing")
    assert changed.exit_code == 0, changed.output
    assert "  Update bed BED-2 on ward W07: relabel 02 as BED-2\n" in changed.output
    assert "  Retire bed A2 on ward AMU (not in the file)\n" in changed.output
    with Session(cli_engine) as session:
        assert session.exec(select(Bed).where(Bed.label == "BED-2")).one().id == beds[1].id


def test_a_bad_file_changes_nothing_and_says_why(run, cli_engine, tmp_path):
    path = tmp_path / "hospital.yaml"
    path.write_text("site: [unclosed\n")
    result = run("setup", path)
    assert result.exit_code == 1 and "is not valid YAML (line 2, column 1)" in result.output
    path.write_text("site:\n  code: R1\nwards:\n  - code: W1\n    name: One\n    beds: [1, 1]\n")
    result = run("setup", path)
    assert result.exit_code == 1
    assert "site.name: Field required" in result.output and "bed labels listed twice: 1" in result.output
    path.write_text(LAYOUT.replace("specialty: Acute medicine", "executive_sponsor: nobody"))
    result = run("setup", path)
    assert result.exit_code == 1 and "Nothing was changed. Problems:" in result.output
    with Session(cli_engine) as session:
        assert session.exec(select(Ward)).all() == []
    assert run("setup", tmp_path / "missing.yaml").exit_code == 1
