"""Routes added by the HL7 ADT feed and the permission each needs (merged into ROUTES by the lead)."""

from __future__ import annotations

from app.auth.permissions import Perm

API = {
    ("POST", "/api/v1/hl7/adt"): Perm.SUBMIT_HL7,
}
