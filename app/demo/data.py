"""Fixed word lists for the synthetic demo hospital. Every name here is invented."""

from __future__ import annotations

from dataclasses import dataclass

SITE_CODE = "RXX01"
SITE_NAME = "Demo General Hospital"
# Published on purpose (printed by `boardround demo`); the demo refuses to run in production.
DEMO_PASSWORD = "boardround-demo"  # noqa: S105


@dataclass(frozen=True)
class WardTemplate:
    code: str
    name: str
    specialty: str
    # Length of stay in days: lognormal median and spread (sigma of the log).
    los_median: float
    los_sigma: float
    # Criteria to reside typical of the specialty (Data Dictionary codes 01-11).
    criteria: tuple[str, ...]


ACUTE_MEDICAL_UNIT = WardTemplate("AMU", "Acute Medical Unit", "Acute Medicine", 1.0, 0.8, ("03", "04", "08", "02"))

# Base wards, in the order they are used. The first few are the classic demo set.
BASE_WARDS: tuple[WardTemplate, ...] = (
    WardTemplate("W07", "Ward 7 Respiratory", "Respiratory Medicine", 4.0, 0.8, ("02", "04", "08")),
    WardTemplate("W09", "Ward 9 Care of the Elderly", "Geriatric Medicine", 7.0, 0.85, ("06", "03", "08", "04")),
    WardTemplate("W12", "Ward 12 Orthopaedics", "Trauma and Orthopaedics", 5.0, 0.8, ("09", "08", "06")),
    WardTemplate("W14", "Ward 14 Cardiology", "Cardiology", 3.0, 0.75, ("04", "11", "03")),
    WardTemplate("W16", "Ward 16 Gastroenterology", "Gastroenterology", 4.0, 0.85, ("03", "08", "11")),
    WardTemplate("W18", "Ward 18 General Surgery", "General Surgery", 3.0, 0.9, ("10", "03", "08")),
    WardTemplate("W21", "Ward 21 Stroke", "Stroke Medicine", 9.0, 0.9, ("06", "05", "03")),
    WardTemplate("W23", "Ward 23 Renal", "Nephrology", 5.0, 0.85, ("03", "08", "04")),
    WardTemplate("W25", "Ward 25 Acute Frailty", "Geriatric Medicine", 5.0, 0.85, ("06", "03", "04")),
    WardTemplate("W27", "Ward 27 Diabetes and Endocrinology", "Endocrinology", 4.0, 0.8, ("03", "04", "08")),
    WardTemplate("W29", "Ward 29 Urology", "Urology", 2.5, 0.8, ("10", "11", "03")),
)

# For hospitals bigger than the list: repeated specialties under further ward numbers.
EXTRA_SPECIALTIES: tuple[tuple[str, str, float, float, tuple[str, ...]], ...] = (
    ("General Medicine", "General Medicine", 5.0, 0.85, ("03", "04", "08")),
    ("Care of the Elderly", "Geriatric Medicine", 7.0, 0.85, ("06", "03", "08")),
    ("Respiratory", "Respiratory Medicine", 4.0, 0.8, ("02", "04", "08")),
    ("Surgery", "General Surgery", 3.0, 0.9, ("10", "03", "08")),
    ("Orthopaedics", "Trauma and Orthopaedics", 5.0, 0.8, ("09", "08", "06")),
    ("Haematology", "Clinical Haematology", 6.0, 0.85, ("08", "03", "04")),
)

GIVEN_FEMALE = (
    "Margaret",
    "Joan",
    "Patricia",
    "Jean",
    "Barbara",
    "Dorothy",
    "Eileen",
    "Sheila",
    "Irene",
    "Maureen",
    "Pauline",
    "Brenda",
    "Christine",
    "Valerie",
    "Sylvia",
    "Doreen",
    "Elsie",
    "Gwen",
    "Iris",
    "Kathleen",
    "Sandra",
    "Susan",
    "Linda",
    "Priya",
    "Fatima",
    "Grace",
    "Siobhan",
    "Bronwen",
    "Agnieszka",
    "Ada",
)
GIVEN_MALE = (
    "John",
    "David",
    "Michael",
    "Peter",
    "Robert",
    "Brian",
    "Alan",
    "Kenneth",
    "Derek",
    "Raymond",
    "Geoffrey",
    "Keith",
    "Terence",
    "Colin",
    "Roy",
    "Stanley",
    "Dennis",
    "Barry",
    "Trevor",
    "Arthur",
    "Gareth",
    "Rajesh",
    "Mohammed",
    "Desmond",
    "Tomasz",
    "Winston",
    "Ian",
    "Graham",
    "Leslie",
    "Frank",
)
FAMILY_NAMES = (
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Griffiths",
    "Mitchell",
    "Kelly",
    "Cook",
    "Carter",
    "Richardson",
    "Bailey",
    "Collins",
    "Bell",
    "Shaw",
    "Murphy",
    "Khan",
    "Begum",
    "Ahmed",
    "Okafor",
    "Mensah",
    "Kowalski",
    "Nowak",
    "O'Brien",
    "McDonald",
    "Campbell",
)
CONSULTANT_NAMES = (
    "Dr A Okonjo",
    "Dr B Fairweather",
    "Dr C Nayar",
    "Dr D Halloran",
    "Dr E Lindqvist",
    "Dr F Adeyemi",
    "Dr G Rahman",
    "Dr H Pemberton",
    "Dr I Castellano",
    "Dr J Whitfield",
    "Dr K Osei",
    "Dr L Brennan",
    "Mr M Achterberg",
    "Ms N Kapoor",
    "Mr O Trelawney",
    "Ms P Ferreira",
    "Dr Q Sandhu",
    "Dr R Mwangi",
)
STAFF_GIVEN = (
    "Amara",
    "Ben",
    "Chloe",
    "Dev",
    "Elin",
    "Femi",
    "Gemma",
    "Hamza",
    "Isla",
    "Jake",
    "Kemi",
    "Liam",
    "Maya",
    "Noor",
    "Owen",
    "Pippa",
    "Rhys",
    "Saira",
    "Tom",
    "Uma",
    "Vik",
    "Wren",
    "Yusuf",
    "Zara",
)
STAFF_FAMILY = (
    "Ashworth",
    "Bowen",
    "Chaudhry",
    "Dunmore",
    "Ellery",
    "Fitzroy",
    "Gallagher",
    "Hendry",
    "Iqbal",
    "Jameson",
    "Kerr",
    "Lowther",
    "Mbeki",
    "Nolan",
    "Oyelaran",
    "Pryce",
    "Quinlan",
    "Rowntree",
)

# The demo sign-in accounts: username, role, display name.
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("nurse", "nurse", "Nia Nurse"),
    ("doctor", "doctor", "Dan Doctor"),
    ("therapist", "therapist", "Theo Therapist"),
    ("socialworker", "social_worker", "Sam Socialworker"),
    ("flow", "flow_coordinator", "Flo Flow"),
    ("wardmanager", "ward_manager", "Wendy Wardmanager"),
    ("sponsor", "executive_sponsor", "Simone Sponsor"),
    ("admin", "admin", "Ade Admin"),
)
EXTRA_SPONSORS: tuple[tuple[str, str], ...] = (
    ("sponsor2", "Stella Sponsor (Director of Nursing)"),
    ("sponsor3", "Sanjay Sponsor (Medical Director)"),
    ("sponsor4", "Sara Sponsor (Chief Operating Officer)"),
)
SERVICE_ACCOUNT = ("pas-feed", "integration", "PAS feed (HL7 ADT)")

CLINICAL_CRITERIA_FOR_DISCHARGE = {
    "Acute Medicine": ("NEWS2 of 2 or less for 24 hours", "Eating and drinking, back to usual mobility"),
    "Respiratory Medicine": (
        "Saturations above 92% on room air for 24 hours",
        "Off nebulisers, inhaler technique checked",
    ),
    "Geriatric Medicine": ("Mobilising with usual frame, cleared by physiotherapy", "Delirium resolved, eating well"),
    "Trauma and Orthopaedics": (
        "Safe on stairs, cleared by physiotherapy",
        "Wound dry, pain controlled on oral analgesia",
    ),
    "Cardiology": ("Troponin trend flat, no chest pain for 24 hours", "Euvolaemic on oral diuretics"),
    "Gastroenterology": ("Haemoglobin stable for 48 hours", "Tolerating diet, bowels open"),
    "General Surgery": ("Tolerating diet, bowels open", "Drain out, pain controlled on oral analgesia"),
    "Stroke Medicine": ("Swallow assessed as safe", "Transfers with one, home care plan agreed"),
    "Nephrology": ("Creatinine improving on two checks", "Off IV fluids, drinking well"),
    "Endocrinology": ("Capillary glucose in range for 24 hours on usual regimen", "Off IV insulin, eating"),
    "Urology": ("Passing urine after trial without catheter", "Haematuria settled"),
    "General Medicine": ("Off IV antibiotics, CRP falling", "NEWS2 of 2 or less for 24 hours"),
    "Clinical Haematology": ("Neutrophils recovering, afebrile 48 hours", "Transfusion complete, haemoglobin stable"),
}

PLANS_MEETS = (
    "IV antibiotics, review cultures",
    "Oxygen weaning, repeat gas tomorrow",
    "Senior review after imaging",
    "IV fluids, recheck U&Es",
    "Physiotherapy to assess mobility",
    "Pain control, review at round tomorrow",
    "Awaiting CT result",
    "Monitor NEWS2, escalate if above 5",
)
PLANS_NCTR = {
    "hospital_process": ("Discharge summary and TTOs today", "Book transport for tomorrow", "Therapy review then home"),
    "care_transfer_hub": ("Referral sent to the care transfer hub", "Chase hub for pathway decision"),
    "interface": ("Reablement start date awaited", "Care home assessment booked", "Funding panel this week"),
    "capacity": ("No reablement capacity this week, chase daily", "Waiting for a community bed", "Equipment ordered"),
    "wellbeing": ("Family meeting booked", "Capacity assessment today", "Safeguarding strategy meeting"),
}

# Delay reasons by discharge pathway, in the order a delay usually moves through them.
DELAY_BY_PATHWAY: dict[int, tuple[str, ...]] = {
    0: ("HP04", "HP07", "HP03", "HP02", "HP01", "HP08", "HP05"),
    1: ("HP05", "HP06", "CTH01", "IP01", "CAP01", "CAP04"),
    2: ("HP06", "CTH01", "IP02", "CAP02", "IP04"),
    3: ("HP06", "CTH01", "IP03", "IP04", "CAP03", "WB02", "WB03"),
}
DELAY_OCCASIONAL = ("WB01", "WB04", "WB05", "CAP07", "CAP08", "IP05", "IP06", "IP07", "CAP05", "CAP06")

EDD_CHANGE_REASONS_CLINICAL = (
    "Clinically not ready: still meets criteria to reside",
    "New infection, IV antibiotics restarted",
    "Awaiting investigation result before discharge",
    "Slower recovery than expected",
)
EDD_CHANGE_REASONS_DELAY = (
    "Waiting for package of care start date",
    "Pathway changed after therapy assessment",
    "Care transfer hub needs more information",
    "Family asked for a later date",
    "Community bed not yet available",
)

ACTIONS: tuple[tuple[str, str], ...] = (
    ("nurse", "Book hospital transport"),
    ("nurse", "Update family on the plan"),
    ("nurse", "Refer to the care transfer hub"),
    ("doctor", "Complete discharge summary"),
    ("doctor", "Review blood results and decide on antibiotics"),
    ("doctor", "Request echocardiogram"),
    ("therapist", "Physiotherapy mobility assessment"),
    ("therapist", "Occupational therapy kitchen and home assessment"),
    ("social_worker", "Social work assessment of care needs"),
    ("social_worker", "Confirm funding route with the local authority"),
    ("pharmacist", "Screen and dispense medicines to take home"),
    ("ward_manager", "Chase outstanding community bed"),
)

FAILED_DISCHARGE_DETAIL = {
    "medicines": "TTOs not back from pharmacy before transport left",
    "transport": "Transport cancelled at 16:00, rebooked for tomorrow",
    "documentation": "Discharge summary not completed",
    "clinical_change": "New temperature spike in the afternoon, bloods repeated",
    "therapy": "Stairs assessment not done",
    "diagnostics": "CT report not back",
    "package_of_care": "Care agency could not start the package today",
    "intermediate_care": "Reablement slot withdrawn",
    "care_home": "Care home not ready to accept today",
    "equipment_housing": "Hospital bed not delivered to home",
    "funding": "Funding not yet agreed",
    "patient_family": "Family not able to collect, asked for tomorrow",
    "safeguarding_legal": "Safeguarding concern raised on the day",
    "care_transfer_hub": "Hub had not actioned the referral",
    "receiving_provider": "Receiving provider asked for more information",
    "infection_control": "Care home closed for an outbreak",
}
FAILED_CAUSES_READY = (
    "medicines",
    "transport",
    "documentation",
    "package_of_care",
    "patient_family",
    "care_transfer_hub",
    "care_home",
    "intermediate_care",
    "equipment_housing",
    "receiving_provider",
    "therapy",
    "funding",
)

ESCALATION_HELP = {
    "hospital_process": "Discharge held up by an internal process: need help to unblock today",
    "care_transfer_hub": "Hub has not confirmed the pathway: please chase",
    "interface": "Arrangements with the provider are stuck: need a decision",
    "capacity": "No capacity in the community service: need a bed or package",
    "wellbeing": "Complex family and capacity issues: need senior support",
}
ESCALATION_OUTCOMES = (
    "Reablement slot confirmed",
    "Community bed found at Riverside Community Hospital",
    "Care home accepted, transport booked",
    "Funding agreed at panel",
    "Family meeting held, plan agreed",
    "Package of care sourced from a second agency",
)


# Referrals made when a patient no longer meets the criteria to reside, by discharge pathway: the
# services (codes of the referralservice list) and how likely each is.
REFERRALS_BY_PATHWAY: dict[int, tuple[tuple[str, float], ...]] = {
    1: (("care_transfer_hub", 0.9), ("reablement", 0.6), ("social_care", 0.4), ("community_nursing", 0.3)),
    2: (("care_transfer_hub", 0.9), ("community_bed", 0.9), ("therapy", 0.5)),
    3: (("care_transfer_hub", 0.9), ("social_care", 0.8), ("care_home", 0.9)),
}
# Specialist teams asked to see a patient who still needs acute care, and how likely.
SPECIALIST_REFERRALS: tuple[tuple[str, float], ...] = (
    ("frailty_team", 0.05),
    ("tissue_viability", 0.02),
    ("diabetes_team", 0.02),
    ("therapy", 0.05),
)
# Hours from sending to the answer, the assessment and the decision: (mean, spread) of a
# log-normal-ish draw by service family; the hub is quick, care homes slow.
REFERRAL_HOURS: dict[str, tuple[float, float, float]] = {
    "care_transfer_hub": (3, 20, 30),
    "reablement": (6, 30, 60),
    "social_care": (8, 48, 96),
    "community_nursing": (4, 24, 30),
    "community_bed": (6, 30, 72),
    "care_home": (12, 72, 168),
    "therapy": (2, 6, 10),
    "frailty_team": (2, 20, 24),
    "tissue_viability": (4, 30, 32),
    "diabetes_team": (2, 20, 22),
}
REFERRAL_DECISIONS = (
    "Accepted: start date agreed",
    "Accepted: waiting for capacity",
    "Package agreed, 4 calls a day",
    "Bed offered",
    "Advice given, no ongoing input",
)
CHALLENGE_REASONS = (
    "Patient still meets criteria to reside",
    "Therapy assessment not done yet",
    "Wrong pathway: needs bed-based care",
    "Referral incomplete: no capacity assessment",
)
