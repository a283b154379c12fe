"""The PAS feed: HL7 v2 ADT over MLLP, HTTP and files (docs/adt.md).

parser (hl7 text -> facts), mapping (PAS locations -> wards and beds), service (apply one
message in one transaction, idempotently), corrections (A11/A12/A13), ack (HL7 ACKs),
mllp (the TCP listener), api (HTTP), cli (`boardround adt ...`).
"""
