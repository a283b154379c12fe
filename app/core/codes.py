"""Reference codes with a meaning of their own in Boardround's rules (the others live only in
the reference tables). Here, at the bottom, so pure arithmetic (app.metrics.rules) can use them."""

# Discharge destination: the patient died; counted as a death, never as a discharge.
DESTINATION_DIED = "79"
# Discharge destination "not applicable": how a cancelled admission (HL7 A11) that already had
# clinical records is ended. The spell never really happened: neither discharge nor death.
DESTINATION_NOT_APPLICABLE = "98"
