"""The demo's service codes, fee schedules, diagnoses and financial-assistance bands.

Procedure codes are CPT/HCPCS numbers; the descriptions are the demo's own short words (the
project ships no licensed CPT descriptions). Fees are typical of a US primary-care practice;
each payer's contracted amounts are a share of the practice fee (Medicare about 43 %,
Medicaid less, commercial payers 58-72 %), and fees change during the year, effective-dated.
"""

import datetime
import random
from decimal import ROUND_HALF_UP, Decimal

from practicedesk.billing.models import Fee, FeeSchedule, FinancialAssistanceBand, ServiceCode
from practicedesk.patients.models import Payer

CENT = Decimal("0.01")

# code: (description, practice fee)
SERVICE_CODES = {
    "99202": ("Office visit, new patient, straightforward", "115.00"),
    "99203": ("Office visit, new patient, low complexity", "170.00"),
    "99204": ("Office visit, new patient, moderate complexity", "255.00"),
    "99212": ("Office visit, established patient, straightforward", "85.00"),
    "99213": ("Office visit, established patient, low complexity", "135.00"),
    "99214": ("Office visit, established patient, moderate complexity", "195.00"),
    "99215": ("Office visit, established patient, high complexity", "270.00"),
    "99393": ("Preventive visit, established child, 5-11 years", "185.00"),
    "99395": ("Preventive visit, established adult, 18-39 years", "225.00"),
    "99396": ("Preventive visit, established adult, 40-64 years", "245.00"),
    "99397": ("Preventive visit, established adult, 65 and over", "265.00"),
    "G0439": ("Medicare annual wellness visit, subsequent", "190.00"),
    "36415": ("Blood draw by venipuncture", "20.00"),
    "81002": ("Urinalysis by dipstick, no microscopy", "15.00"),
    "85025": ("Complete blood count with differential", "35.00"),
    "83036": ("Hemoglobin A1c", "45.00"),
    "80061": ("Lipid panel", "55.00"),
    "87880": ("Rapid strep test", "35.00"),
    "87804": ("Rapid influenza test", "45.00"),
    "90471": ("Vaccine administration, first injection", "30.00"),
    "90686": ("Influenza vaccine, preservative free", "40.00"),
    "93000": ("Electrocardiogram with interpretation and report", "75.00"),
    "94010": ("Spirometry", "85.00"),
    "11102": ("Skin biopsy, tangential, first lesion", "175.00"),
    "17110": ("Destruction of benign lesions, up to 14", "160.00"),
    "20610": ("Joint injection or aspiration, major joint", "165.00"),
    "J1030": ("Methylprednisolone acetate injection, 40 mg", "25.00"),
}
PREVENTIVE = {"99393", "99395", "99396", "99397", "G0439", "90471", "90686"}
EVALUATION = {"99202", "99203", "99204", "99212", "99213", "99214", "99215"}

# Payer name: (share of the practice fee, months before today its current contract began,
# change then in percent). Medicare's new schedule starts every 1 January.
CONTRACTS = {
    "Medicare Part B (Illinois)": ("0.43", None, "3.0"),
    "Illinois Medicaid": ("0.33", 9, "2.0"),
    "Blue Cross Blue Shield of Illinois": ("0.72", 7, "3.5"),
    "Aetna": ("0.68", 8, "3.0"),
    "UnitedHealthcare": ("0.62", 4, "2.5"),
    "Cigna": ("0.66", 10, "3.0"),
    "Humana": ("0.58", 6, "2.0"),
    "Illinois Workers' Compensation Fund": ("0.85", None, "0"),
}
PRACTICE_FEE_INCREASE = Decimal("4.0")  # percent, from the first of the month 5 months ago

# Chronic conditions (ICD-10-CM) with the labs their follow-ups add.
CHRONIC = [
    ("E11.9", ("36415", "83036")),
    ("E11.65", ("36415", "83036")),
    ("I10", ()),
    ("E78.5", ("36415", "80061")),
    ("E66.9", ()),
    ("J45.909", ("94010",)),
    ("F41.1", ()),
    ("F32.A", ()),
    ("M54.50", ()),
    ("K21.9", ()),
    ("E03.9", ()),
    ("M17.11", ()),
    ("G47.33", ()),
    ("J44.9", ("94010",)),
    ("N18.30", ("36415", "85025")),
    ("E55.9", ()),
]
# Acute problems of a sick visit, with the in-office test they get.
ACUTE = [
    ("J02.0", ("87880",)),
    ("J02.9", ("87880",)),
    ("J06.9", ()),
    ("J11.1", ("87804",)),
    ("N39.0", ("81002",)),
    ("H66.90", ()),
    ("R05.9", ()),
    ("J01.90", ()),
    ("R51.9", ()),
    ("R10.9", ("81002",)),
    ("L30.9", ()),
    ("S93.401A", ()),
    ("M25.561", ()),
    ("R53.83", ("36415", "85025")),
]
# Office procedures: (diagnosis, procedure codes).
PROCEDURES = [
    ("L82.1", ("17110",)),
    ("B07.9", ("17110",)),
    ("L57.0", ("11102",)),
    ("L72.3", ("11102",)),
    ("M17.11", ("20610", "J1030")),
]
ALL_DIAGNOSES = sorted(
    {code for code, _ in CHRONIC + ACUTE + PROCEDURES} | {"Z00.00", "Z00.01", "Z00.129", "Z23"}
)

FA_BANDS = [
    ("Full charity care", 100, "100"),
    ("Sliding scale A", 150, "75"),
    ("Sliding scale B", 200, "50"),
    ("Sliding scale C", 250, "25"),
]


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def first_of_month(day: datetime.date, months_back: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 - months_back
    return datetime.date(index // 12, index % 12 + 1, 1)


def fee_dates(today: datetime.date) -> dict[str | None, datetime.date]:
    """When each schedule's current version began: the practice's (None) and each payer's."""
    dates: dict[str | None, datetime.date] = {None: first_of_month(today, 5)}
    for name, (_share, months, _change) in CONTRACTS.items():
        dates[name] = first_of_month(today, months) if months else datetime.date(today.year, 1, 1)
    return dates


class FeeTable:
    """The demo's fees in memory, as the database has them: amount of a code on a day."""

    def __init__(self):
        self.versions: dict[int | None, list[tuple[datetime.date, dict[str, Decimal]]]] = {}

    def add(self, payer_id: int | None, effective_from: datetime.date, amounts: dict) -> None:
        self.versions.setdefault(payer_id, []).append((effective_from, amounts))
        self.versions[payer_id].sort(key=lambda version: version[0])

    def amount(self, payer_id: int | None, code: str, on: datetime.date) -> Decimal | None:
        found = None
        for effective_from, amounts in self.versions.get(payer_id, ()):
            if effective_from <= on:
                found = amounts.get(code)
        return found


def build_fee_schedules(today: datetime.date) -> tuple[dict[str, ServiceCode], FeeTable]:
    """Service codes, the practice's fee schedule and one contract per payer, each in two
    effective-dated versions (idempotent)."""
    rng = random.Random(20261127 + 1)
    codes = {}
    for code, (description, _fee) in SERVICE_CODES.items():
        codes[code], _ = ServiceCode.objects.get_or_create(
            code=code, defaults={"description": description}
        )
    origin = datetime.date(today.year - 3, 1, 1)
    dates = fee_dates(today)
    table = FeeTable()
    old_practice = {code: Decimal(fee) for code, (_d, fee) in SERVICE_CODES.items()}
    increase = 1 + PRACTICE_FEE_INCREASE / 100
    new_practice = {code: cents(fee * increase) for code, fee in old_practice.items()}
    versions: list[tuple[Payer | None, str, datetime.date, datetime.date | None, dict]] = [
        (None, "Practice fees", origin, dates[None] - datetime.timedelta(days=1), old_practice),
        (None, "Practice fees", dates[None], None, new_practice),
    ]
    payers = {payer.name: payer for payer in Payer.objects.filter(name__in=CONTRACTS)}
    for name, (share, _months, change) in CONTRACTS.items():
        payer = payers.get(name)
        if payer is None:
            continue
        spread = {code: Decimal(str(round(rng.uniform(0.94, 1.06), 3))) for code in old_practice}
        old = {
            code: cents(old_practice[code] * Decimal(share) * spread[code]) for code in old_practice
        }
        new = {code: cents(amount * (1 + Decimal(change) / 100)) for code, amount in old.items()}
        start = dates[name]
        if Decimal(change):
            versions.append((payer, f"{name} contract", origin, start - datetime.timedelta(1), old))
            versions.append((payer, f"{name} contract", start, None, new))
        else:
            versions.append((payer, f"{name} contract", origin, None, old))
    if not FeeSchedule.objects.exists():
        for payer, name, effective_from, effective_to, amounts in versions:
            schedule = FeeSchedule.objects.create(
                payer=payer,
                effective_from=effective_from,
                effective_to=effective_to,
                name=f"{name} {effective_from:%Y-%m}",
            )
            Fee.objects.bulk_create(
                Fee(fee_schedule=schedule, service_code=codes[code], amount=amount)
                for code, amount in amounts.items()
            )
    # The fees as stored (a later run on another day keeps the schedules it made first).
    for schedule in FeeSchedule.objects.prefetch_related("fees__service_code"):
        amounts = {fee.service_code.code: fee.amount for fee in schedule.fees.all()}
        table.add(schedule.payer_id, schedule.effective_from, amounts)
    for name, ceiling, discount in FA_BANDS:
        FinancialAssistanceBand.objects.get_or_create(
            name=name,
            defaults={"poverty_level_max": ceiling, "discount_percent": Decimal(discount)},
        )
    return codes, table
