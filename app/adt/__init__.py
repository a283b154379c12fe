"""The PAS feed: HL7 v2 ADT over MLLP, HTTP and files (docs/adt.md).

parser (hl7 text -> facts), pipeline (one message in one transaction, idempotently, to its
ACK), events (what each trigger event does), matching (the patient and stay a message names),
mapping (PAS locations -> wards and beds), corrections (A11/A12/A13), ack (HL7 ACKs),
receiver (applying outside a request), review (failed messages, retry, retention), mllp (the
TCP listener), workers (listener processes), api (HTTP), cli (`boardround adt ...`).
"""
