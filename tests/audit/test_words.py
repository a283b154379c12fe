"""The audit viewer reads any stored value: lists of codes, of coded entries, of other records."""

from __future__ import annotations

from app.audit.words import readable_changes, value_text

LABELS = {"delay_reasons": {"IP03": "Care home placement"}, "criteria": {"02": "Needs oxygen"}}


def test_lists_of_codes_and_of_coded_entries_read_as_labels():
    assert value_text("criteria", ["02", "99"], LABELS) == "Needs oxygen; 99"
    reasons = [{"code": "IP03", "primary": True}, {"code": "XX1", "primary": False}]
    assert value_text("delay_reasons", reasons, LABELS) == "Care home placement (main); XX1"


def test_lists_of_other_records_and_nested_lists_never_break_the_page():
    assert value_text("attendees", [{"role_code": "nurse", "count": 2}], LABELS) == "Role: nurse, Count: 2"
    assert value_text("anything", [["a"], {"b"}], LABELS) == "['a']; {'b'}"


def test_fields_blank_on_both_sides_are_left_out():
    rows = readable_changes(None, {"plan": "", "delay_reason_code": "IP03", "version": 1}, LABELS)
    assert rows == [("Delay reason", None, "Care home placement")]
