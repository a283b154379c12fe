"""Reference codes with a meaning of their own in Boardround's rules (the others live only in
the reference tables). Here, at the bottom, so pure arithmetic (app.metrics.rules) can use them."""

# Discharge destination: the patient died; counted as a death, never as a discharge.
DESTINATION_DIED = "79"
# Discharge destination "not applicable": how a cancelled admission (HL7 A11) that already had
# clinical records is ended. The spell never really happened: neither discharge nor death.
DESTINATION_NOT_APPLICABLE = "98"

# Discharge milestones (app.milestones): the four states, and the red/amber/green view of an
# open one against its due time. Open: not started or in progress.
MILESTONE_NOT_STARTED = "not_started"
MILESTONE_IN_PROGRESS = "in_progress"
MILESTONE_DONE = "done"
MILESTONE_NOT_NEEDED = "not_needed"
MILESTONE_STATUSES = {
    MILESTONE_NOT_STARTED: "Not started",
    MILESTONE_IN_PROGRESS: "In progress",
    MILESTONE_DONE: "Done",
    MILESTONE_NOT_NEEDED: "Not needed",
}
MILESTONE_OPEN = frozenset({MILESTONE_NOT_STARTED, MILESTONE_IN_PROGRESS})
RAG_RED = "red"  # open, and its due time has passed
RAG_AMBER = "amber"  # open, due within MILESTONE_AMBER_HOURS
RAG_GREEN = "green"  # open, due later
RAG_COMPLETE = "complete"  # done or not needed
MILESTONE_AMBER_HOURS = 4

# Referrals (app.referrals): the receiving service's answer. A challenge is the receiving team
# (or a senior) judging the referral inappropriate, always with a reason.
REFERRAL_ACCEPTED = "accepted"
REFERRAL_DECLINED = "declined"
REFERRAL_CHALLENGED = "challenged"
REFERRAL_RESPONSES = {
    REFERRAL_ACCEPTED: "Accepted",
    REFERRAL_DECLINED: "Declined",
    REFERRAL_CHALLENGED: "Challenged as inappropriate",
}
