"""A year of the demo practice's revenue cycle, replayed through the real billing services.

Every signed visit of the billed period (the last 12 months, or what the size's schedule
has) gets diagnoses and charges (`charges_post`), a claim (`claim_create`, scrubbed by
`claim_mark_ready`) sent in the day's 837P batch (`claims_export`). Each payer answers with
an 835 file written by `demo.era` and imported with `remittance_import`: mostly paid at the
contracted amount, some lines underpaid, some claims denied (CO-16, CO-50, CO-197, CO-96),
patient shares as deductible, coinsurance or copay (PR-1/2/3), some claims never answered.
Then what follows in a practice: secondary claims, appeals, denial write-offs, patient
payments by cash, check and card, returned checks, payment plans (some defaulting),
financial assistance and collection cases. No ledger row is written here: every amount goes
through the services, so every balance ties out.

The events are replayed in date order under a simulated clock (`demo.clock`), so each
action carries the day it happened on. The random choices are seeded: a size builds the same
billing every time, and once charges exist the whole stage is skipped.
"""

import dataclasses
import datetime
import heapq
import random
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from auditlog.context import disable_auditlog
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone

from practicedesk.billing.collections import collections_daily
from practicedesk.billing.models import (
    ZERO,
    Charge,
    Claim,
    LedgerEntry,
    Payment,
    PaymentPlan,
    Remittance,
)
from practicedesk.billing.remittances import remittance_import
from practicedesk.billing.selectors import (
    charge_owed,
    charges_owed_by_patient,
    patient_balance,
    poverty_guideline,
)
from practicedesk.billing.services import (
    ChargeLine,
    charges_post,
    claim_create,
    claim_mark_ready,
    claim_secondary_create,
    claim_step,
    claims_export,
    collection_case_open,
    financial_assistance_apply,
    financial_assistance_approve,
    payment_plan_authorize,
    payment_plan_propose,
    payment_receive,
    payment_return_nsf,
    plan_instalments_check,
    visit_diagnoses_set,
    write_off,
)
from practicedesk.billing.statements import statement_run_execute, statement_run_start
from practicedesk.core.models import Location, Organization, User
from practicedesk.demo.billing_reference import (
    ACUTE,
    CHRONIC,
    EVALUATION,
    PREVENTIVE,
    PROCEDURES,
    FeeTable,
    build_fee_schedules,
)
from practicedesk.demo.clock import SimulatedClock, simulated_clock
from practicedesk.demo.era import FILING, EraClaim, EraLine, EraPayee, EraPayer, remittance_file
from practicedesk.demo.sizes import DemoSize
from practicedesk.patients.models import Coverage, Patient, Payer
from practicedesk.scheduling.models import Appointment, Encounter, Provider

SEED = 20261127
EXPORT_DAYS = (2,)  # claims go out once a week, on Wednesdays
Progress = Callable[[str, int], None]
CENT = Decimal("0.01")
DAY = datetime.timedelta(days=1)

# Payer type: (days from submission to payment, low and high; weekday the payer pays on).
PAYER_TIMING = {
    "Medicare Part B (Illinois)": (12, 18, 1),
    "Illinois Medicaid": (25, 45, 3),
    "Blue Cross Blue Shield of Illinois": (14, 28, 2),
    "Aetna": (18, 32, 4),
    "UnitedHealthcare": (18, 38, 0),
    "Cigna": (20, 35, 3),
    "Humana": (18, 32, 1),
    "Illinois Workers' Compensation Fund": (35, 70, 2),
}
# Share of claims denied, and of paid claims paid below contract, by payer type.
DENIAL_RATE = {"medicare": 0.05, "medicaid": 0.10, "commercial": 0.07, "workers_comp": 0.12}
UNDERPAID_RATE = {"medicare": 0.01, "medicaid": 0.03, "commercial": 0.06, "workers_comp": 0.08}
NEVER_ANSWERED = 0.03
# However the rolls fall, the underpayment queue has something to show: after this many
# claims paid in full in a row, the next one is underpaid.
PAID_BEFORE_AN_UNDERPAYMENT = 30
DENIALS = [  # (CARC, remark, what the practice does about it, weight)
    ("16", "MA130", "appeal", 40),
    ("50", "N115", "appeal_or_write_off", 25),
    ("197", "N54", "write_off", 20),
    ("96", "N130", "write_off", 15),
]
MEDICARE_DEDUCTIBLE = Decimal("257.00")
BEHAVIOURS = [("prompt", 55), ("slow", 20), ("partial", 12), ("never", 13)]


def cents(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def routing_number(rng: random.Random) -> str:
    """A routing number that passes the ABA check digit."""
    digits = [rng.randint(0, 9) for _ in range(8)]
    digits[0] = rng.choice([0, 1, 2, 3])
    weighted = sum(d * w for d, w in zip(digits, (3, 7, 1, 3, 7, 1, 3, 7), strict=True))
    return "".join(map(str, digits)) + str((10 - weighted % 10) % 10)


@dataclasses.dataclass
class Profile:
    """How a patient pays, drawn once from their own seed."""

    behaviour: str
    plan_kind: str  # copay or high_deductible (commercial coverage)
    copay: Decimal
    deductible: Decimal
    method: str
    rng: random.Random


@dataclasses.dataclass
class ClaimInfo:
    pk: int
    number: str
    payer_id: int
    patient_id: int
    member_id: str
    order: int
    lines: list[tuple[Charge, str]]  # (charge, its code)
    outcome: str = ""
    denial: tuple[str, str, str] | None = None
    patient_share: dict[int, Decimal] = dataclasses.field(default_factory=dict)  # charge pk -> PR
    answered: bool = False


class BillingYear:
    def __init__(self, size: DemoSize, progress: Progress):
        self.size = size
        self.progress = progress
        self.rng = random.Random(SEED + 2)
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.events: list = []
        self.sequence = 0
        self.biller = User.objects.get(username="biller")
        self.manager = User.objects.get(username="manager")
        self.front_desk = User.objects.get(username="frontdesk")
        self.clinicians = dict(Provider.objects.values_list("pk", "user_id"))
        self.users = {u.pk: u for u in User.objects.filter(pk__in=self.clinicians.values())}
        self.payers = {payer.pk: payer for payer in Payer.objects.all()}
        self.locations = {location.pk: location for location in Location.objects.all()}
        organization = Organization.objects.get()
        self.payee = EraPayee(organization.name, organization.npi, organization.tax_id)
        self.claims: dict[int, ClaimInfo] = {}
        self.ready = 0
        self.paid_in_full = 0
        self.remits: dict[tuple[int, datetime.date], list[int]] = {}
        self.profiles: dict[int, Profile] = {}
        self.deductible_met: dict[tuple[int, int], Decimal] = {}
        self.no_checks: set[int] = set()
        self.plans_ever: set[int] = set()
        self.collections: set[int] = set()
        self.first_visit: dict[int, datetime.date] = {}
        self.control_number = Remittance.objects.count() + 1
        self.visits_billed = 0
        self.checks = 0
        self.plans_made = 0
        self.fees: FeeTable | None = None
        self.codes: dict = {}
        self.secondary = dict(
            Coverage.objects.filter(order=Coverage.Order.SECONDARY).values_list(
                "patient_id", "payer_id"
            )
        )
        self.home = dict(Patient.objects.values_list("pk", "home_location_id"))
        self.dob = dict(Patient.objects.values_list("pk", "date_of_birth"))
        self.assistance_left = {"small": 4, "clinic": 10, "group": 20}.get(size.name, 4)
        self.coverage_payers = dict(Coverage.objects.values_list("pk", "payer_id"))
        self.names = {
            pk: (last, first)
            for pk, last, first in Patient.objects.values_list("pk", "last_name", "first_name")
        }
        self.clock: SimulatedClock | None = None

    # The event queue

    def at(self, moment: datetime.datetime, handler, *args) -> None:
        if moment > self.now:
            return  # it has not happened yet
        if self.clock is not None and moment < self.clock.moment:
            moment = self.clock.moment  # decided late: it happens now
        self.sequence += 1
        heapq.heappush(self.events, (moment, self.sequence, handler, args))

    def on(self, day: datetime.date, hour: int, handler, *args, minute: int = 0) -> None:
        moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))
        self.at(moment, handler, *args)

    def later(self, low: int, high: int) -> datetime.timedelta:
        """A delay of a patient's life (days to pay, to default, to collections), shortened in
        proportion when the billed history is shorter than a year, so a small demo still has
        every kind of account."""
        days = self.rng.randint(low, high) * self.span
        return datetime.timedelta(days=max(1.0, days), hours=self.rng.randint(0, 6))

    def run(self, first_day: datetime.date) -> None:
        self.span = min(1.0, max(0.1, (self.today - first_day).days / 365))
        self.codes, self.fees = build_fee_schedules(self.today)
        visits = self.visits(first_day)
        for visit in visits:
            self.at(visit["billed_at"], self.bill_visit, visit)
        day = first_day
        while day <= self.today:
            if day.weekday() in EXPORT_DAYS:
                self.on(day, 17, self.export)
            self.on(day, 6, self.plans_check)  # the daily job
            if day.weekday() == 0:
                self.on(day, 8, self.collections_run)  # the collections run, weekly here
            if day.day == 1 and day > first_day:
                self.on(day, 7, self.statements_run)  # the monthly statement cycle
            day += DAY
        start = self.events[0][0] if self.events else self.now
        with simulated_clock(start) as clock:
            self.clock = clock
            self.replay(clock)

    def replay(self, clock: SimulatedClock) -> None:
        handled = 0
        while self.events:
            moment, _, handler, args = heapq.heappop(self.events)
            clock.set(moment)
            handler(*args)
            handled += 1
            if handled % 250 == 0:
                self.progress(f"billing {moment:%Y-%m-%d}, visits billed", self.visits_billed)

    def visits(self, first_day: datetime.date) -> list[dict]:
        providers = list(Provider.objects.order_by("pk").values_list("pk", flat=True))
        billed_providers = providers[:: self.size.billing_provider_step]
        rows = (
            Encounter.objects.filter(
                status=Encounter.Status.SIGNED,
                appointment__status=Appointment.Status.CHECKED_OUT,
                appointment__start__date__gte=first_day,
                appointment__provider_id__in=billed_providers,
                appointment__charges__isnull=True,
            )
            .order_by("appointment__start", "appointment_id")
            .values(
                "appointment_id",
                "signed_at",
                "appointment__patient_id",
                "appointment__provider_id",
                "appointment__location_id",
                "appointment__start",
                "appointment__coverage_id",
                "appointment__appointment_type__name",
            )
        )
        visits = []
        for row in rows.iterator(chunk_size=5000):
            lag = datetime.timedelta(hours=self.rng.choice([1, 2, 4, 18, 26, 50]))
            visits.append(
                {
                    "pk": row["appointment_id"],
                    "patient_id": row["appointment__patient_id"],
                    "provider_id": row["appointment__provider_id"],
                    "location_id": row["appointment__location_id"],
                    "start": row["appointment__start"],
                    "coverage_id": row["appointment__coverage_id"],
                    "kind": row["appointment__appointment_type__name"],
                    "billed_at": row["signed_at"] + lag,
                }
            )
        return visits

    def profile(self, patient_id: int) -> Profile:
        if patient_id not in self.profiles:
            rng = random.Random(SEED * 7 + patient_id)
            behaviour = rng.choices([b for b, _ in BEHAVIOURS], [w for _, w in BEHAVIOURS])[0]
            high_deductible = rng.random() < 0.3
            self.profiles[patient_id] = Profile(
                behaviour=behaviour,
                plan_kind="high_deductible" if high_deductible else "copay",
                copay=Decimal(rng.choice(["20.00", "25.00", "30.00", "40.00"])),
                deductible=Decimal(rng.choice(["1500.00", "2000.00", "3000.00"])),
                method=rng.choices(["card", "check", "cash"], [55, 30, 15])[0],
                rng=rng,
            )
        return self.profiles[patient_id]

    def day(self) -> datetime.date:
        return timezone.localdate()

    # Coding a visit

    def coding(self, visit: dict) -> tuple[list[str], list[tuple[str, tuple, tuple, str]]]:
        """Diagnoses and lines (code, modifiers, diagnosis pointers, place of service)."""
        rng = random.Random(SEED + visit["pk"])
        patient_rng = random.Random(SEED * 3 + visit["patient_id"])
        age = (visit["start"].date() - self.dob[visit["patient_id"]]).days // 365
        chronic = patient_rng.sample(CHRONIC, k=min(3, patient_rng.choice([0, 1, 1, 2, 2, 3])))
        payer = self.payers.get(self.coverage_payer(visit))
        kind = visit["kind"]
        lines: list[tuple[str, tuple, tuple, str]] = []
        diagnoses: list[str] = []
        if kind == "Annual physical":
            if age < 18:
                diagnoses, code = ["Z00.129"], "99393"
            else:
                diagnoses = ["Z00.01" if chronic else "Z00.00"]
                if payer is not None and payer.payer_type == Payer.Type.MEDICARE and age >= 65:
                    code = "G0439"
                else:
                    code = "99395" if age < 40 else "99396" if age < 65 else "99397"
            lines.append((code, (), (1,), "11"))
            if age >= 18 and rng.random() < 0.5:
                lines += [("36415", (), (1,), "11"), ("80061", (), (1,), "11")]
        elif kind == "Procedure":
            diagnosis, codes = rng.choice(PROCEDURES)
            diagnoses = [diagnosis]
            lines += [(code, (), (1,), "11") for code in codes]
            if rng.random() < 0.3:
                lines.insert(0, ("99213", ("25",), (1,), "11"))
        else:
            if kind == "Sick visit" or not chronic:
                problem, tests = rng.choice(ACUTE)
                diagnoses = [problem]
                if chronic and rng.random() < 0.4:
                    diagnoses.append(chronic[0][0])
            else:
                diagnoses = [code for code, _ in chronic]
                tests = tuple(dict.fromkeys(t for _, labs in chronic for t in labs))
                if rng.random() < 0.5:
                    tests = ()
            if kind == "New patient visit":
                code = rng.choices(["99202", "99203", "99204"], [15, 50, 35])[0]
            else:
                code = rng.choices(["99212", "99213", "99214", "99215"], [10, 48, 35, 7])[0]
            pointers = tuple(range(1, len(diagnoses) + 1))
            if kind == "Telehealth":
                lines.append((code, ("95",), pointers, "10"))
                tests = ()
            else:
                lines.append((code, (), pointers, "11"))
            lines += [(test, (), (1,), "11") for test in tests]
        month = visit["start"].month
        if kind != "Telehealth" and month in (9, 10, 11, 12) and rng.random() < 0.35:
            diagnoses.append("Z23")
            pointer = (len(diagnoses),)
            lines += [("90686", (), pointer, "11"), ("90471", (), pointer, "11")]
        return diagnoses, lines

    def coverage_payer(self, visit: dict) -> int | None:
        return self.coverage_payers.get(visit["coverage_id"])

    # Visit to claim

    def bill_visit(self, visit: dict) -> None:
        appointment = Appointment.objects.select_related("patient").get(pk=visit["pk"])
        diagnoses, lines = self.coding(visit)
        provider_user = self.users.get(self.clinicians.get(visit["provider_id"]))
        visit_diagnoses_set(
            acting_user=provider_user or self.biller, appointment=appointment, codes=diagnoses
        )
        charges = charges_post(
            acting_user=self.biller,
            appointment=appointment,
            lines=[
                ChargeLine(
                    self.codes[code],
                    modifiers=modifiers,
                    diagnosis_pointers=pointers,
                    place_of_service=place,
                )
                for code, modifiers, pointers, place in lines
            ],
        )
        self.visits_billed += 1
        patient_id = visit["patient_id"]
        self.first_visit.setdefault(patient_id, self.day())
        if visit["coverage_id"] is None:
            self.self_pay_visit(visit, charges)
            return
        claim = claim_create(acting_user=self.biller, appointment=appointment)
        claim_mark_ready(acting_user=self.biller, claim=claim)
        self.ready += 1
        self.claims[claim.pk] = ClaimInfo(
            pk=claim.pk,
            number=claim.claim_number,
            payer_id=claim.payer_id,
            patient_id=patient_id,
            member_id=claim.coverage.member_id,
            order=1,
            lines=[(charge, charge.service_code.code) for charge in charges],
        )

    def self_pay_visit(self, visit: dict, charges: list[Charge]) -> None:
        profile = self.profile(visit["patient_id"])
        now = timezone.now()
        if profile.behaviour == "prompt" or profile.rng.random() < 0.3:
            self.at(now + datetime.timedelta(minutes=5), self.patient_pay, visit["patient_id"], 1)
        elif self.assistance_left > 0 and profile.behaviour in ("never", "partial"):
            self.assistance_left -= 1
            self.at(now + self.later(21, 30), self.assistance, visit["patient_id"])
        else:
            self.at(now + datetime.timedelta(days=4), self.patient_bill, visit["patient_id"])

    def export(self) -> None:
        if not self.ready:
            return
        batch = claims_export(acting_user=self.biller)
        self.ready = 0
        day = self.day()
        for claim_id in batch.claims.values_list("pk", flat=True):
            info = self.claims[claim_id]
            payer = self.payers[info.payer_id]
            low, high, _weekday = PAYER_TIMING.get(payer.name, (20, 35, 2))
            if info.order == 2:
                info.outcome = "secondary"
            else:
                roll = self.rng.random()
                denial_rate = DENIAL_RATE.get(payer.payer_type, 0.07)
                underpaid_rate = UNDERPAID_RATE.get(payer.payer_type, 0.05)
                if roll < NEVER_ANSWERED:
                    info.outcome = "never"
                    continue
                if roll < NEVER_ANSWERED + denial_rate:
                    info.outcome = "denied"
                    carc, remark, action, _ = self.rng.choices(
                        DENIALS, [weight for *_, weight in DENIALS]
                    )[0]
                    info.denial = (carc, remark, action)
                elif (
                    roll < NEVER_ANSWERED + denial_rate + underpaid_rate
                    or self.paid_in_full >= PAID_BEFORE_AN_UNDERPAYMENT
                ):
                    info.outcome = "underpaid"
                    self.paid_in_full = 0
                else:
                    info.outcome = "paid"
                    self.paid_in_full += 1
            self.schedule_answer(info, day + datetime.timedelta(self.rng.randint(low, high)))

    def schedule_answer(self, info: ClaimInfo, earliest: datetime.date) -> None:
        weekday = PAYER_TIMING.get(self.payers[info.payer_id].name, (0, 0, 2))[2]
        answer_day = earliest + datetime.timedelta((weekday - earliest.weekday()) % 7)
        key = (info.payer_id, answer_day)
        if key not in self.remits:
            self.remits[key] = []
            self.on(answer_day, 7, self.remit, key)
        self.remits[key].append(info.pk)

    # Payers' answers

    def remit(self, key: tuple[int, datetime.date]) -> None:
        payer = self.payers[key[0]]
        day = key[1]
        infos = [self.claims[pk] for pk in self.remits.pop(key)]
        era_claims = [self.answer(info, payer, day) for info in infos]
        era_claims = [claim for claim in era_claims if claim is not None]
        if not era_claims:
            return
        method = "CHK" if payer.payer_type == Payer.Type.WORKERS_COMP else "ACH"
        control = self.control_number
        self.control_number += 1
        text = remittance_file(
            payer=EraPayer(payer.name, payer.payer_id),
            payee=self.payee,
            claims=era_claims,
            payment_date=day,
            trace_number=f"{payer.payer_id[:3]}{day:%y%m%d}{control:05d}",
            check_number=f"{70000000 + control}" if method == "CHK" else "",
            control_number=control,
            method=method,
        )
        remittance_import(
            acting_user=self.biller, content=text, filename=f"{payer.payer_id}-{day:%Y%m%d}.835"
        )
        for info in infos:
            self.after_answer(info)

    def answer(self, info: ClaimInfo, payer: Payer, day: datetime.date) -> EraClaim | None:
        patient = self.patient_names(info.patient_id)
        lines = []
        if info.outcome == "denied":
            carc, remark, _action = info.denial
            for charge, code in info.lines:
                lines.append(
                    EraLine(
                        code=code,
                        modifiers=tuple(charge.modifiers),
                        units=charge.units,
                        billed=charge.amount,
                        paid=ZERO,
                        service_date=charge.date_of_service,
                        adjustments=[("CO", carc, charge.amount)],
                        remarks=(remark,),
                    )
                )
            status = "4"
        elif info.outcome == "secondary":
            for charge, code in info.lines:
                share = info.patient_share.get(charge.pk, ZERO)
                if share > ZERO:
                    lines.append(
                        EraLine(
                            code=code,
                            modifiers=tuple(charge.modifiers),
                            units=charge.units,
                            billed=share,
                            paid=share,
                            allowed=share,
                            service_date=charge.date_of_service,
                        )
                    )
            status = "2"
        else:
            lines = self.adjudicate(info, payer)
            status = "1"
        if not lines:
            return None
        info.answered = True
        return EraClaim(
            claim_number=info.number,
            status=status,
            payer_claim_number=f"{day:%y%j}{info.pk:08d}",
            patient_last=patient[0],
            patient_first=patient[1],
            member_id=info.member_id,
            filing_indicator=FILING.get(payer.payer_type, "12"),
            lines=lines,
        )

    def patient_names(self, patient_id: int) -> tuple[str, str]:
        return self.names[patient_id]

    def deductible_and_coinsurance(
        self, patient_id: int, dos: datetime.date, allowed: Decimal, deductible: Decimal,
        adjustments: list,
    ) -> Decimal:  # fmt: skip
        """The patient's share of a line: what is left of the year's deductible (PR-1), then
        20% coinsurance on the rest (PR-2); the adjustments are added to ``adjustments``."""
        toward = min(self.deductible_left(patient_id, dos, deductible), allowed)
        if toward > ZERO:
            adjustments.append(("PR", "1", toward))
            self.deductible_met[(patient_id, dos.year)] += toward
        coinsurance = cents((allowed - toward) * Decimal("0.20"))
        if coinsurance > ZERO:
            adjustments.append(("PR", "2", coinsurance))
        return toward + coinsurance

    def adjudicate(self, info: ClaimInfo, payer: Payer) -> list[EraLine]:
        """Allowed at contract (or below, when underpaid), less the patient's share."""
        profile = self.profile(info.patient_id)
        lines = []
        copay_taken = False
        for charge, code in info.lines:
            dos = charge.date_of_service
            contract = self.fees.amount(payer.pk, code, dos)
            contract = cents(contract * charge.units) if contract is not None else charge.amount
            allowed = min(contract, charge.amount)
            if info.outcome == "underpaid":
                allowed = cents(allowed * Decimal(str(round(self.rng.uniform(0.78, 0.93), 2))))
            adjustments = []
            share = ZERO
            preventive = code in PREVENTIVE
            if payer.payer_type == Payer.Type.MEDICARE and not preventive:
                share = self.deductible_and_coinsurance(
                    info.patient_id, dos, allowed, MEDICARE_DEDUCTIBLE, adjustments
                )
            elif payer.payer_type == Payer.Type.COMMERCIAL and not preventive:
                if profile.plan_kind == "high_deductible":
                    share = self.deductible_and_coinsurance(
                        info.patient_id, dos, allowed, profile.deductible, adjustments
                    )
                elif code in EVALUATION and not copay_taken:
                    share = min(profile.copay, allowed)
                    adjustments.append(("PR", "3", share))
                    copay_taken = True
            if charge.amount > allowed:
                adjustments.insert(0, ("CO", "45", charge.amount - allowed))
            info.patient_share[charge.pk] = share
            lines.append(
                EraLine(
                    code=code,
                    modifiers=tuple(charge.modifiers),
                    units=charge.units,
                    billed=charge.amount,
                    paid=allowed - share,
                    allowed=allowed,
                    service_date=dos,
                    adjustments=adjustments,
                )
            )
        return lines

    def deductible_left(self, patient_id: int, day: datetime.date, deductible: Decimal) -> Decimal:
        key = (patient_id, day.year)
        if key not in self.deductible_met:
            # Care elsewhere earlier in the year counts too: later in the year, more patients
            # have met their deductible before their first visit here.
            rng = self.profile(patient_id).rng
            if rng.random() < (day.timetuple().tm_yday / 365) * 0.9:
                self.deductible_met[key] = deductible
            else:
                self.deductible_met[key] = cents(deductible * Decimal(str(rng.uniform(0, 0.6))))
        return max(deductible - self.deductible_met[key], ZERO)

    def after_answer(self, info: ClaimInfo) -> None:
        if not info.answered:
            return
        info.answered = False
        now = timezone.now()
        rng = self.rng
        if info.outcome == "denied":
            _carc, _remark, action = info.denial
            if rng.random() < 0.25:
                return  # still in the denial queue, not worked yet
            if action == "appeal_or_write_off":
                action = "appeal" if rng.random() < 0.5 else "write_off"
            handler = self.appeal if action == "appeal" else self.write_off_denial
            self.at(now + datetime.timedelta(days=rng.randint(4, 15), hours=2), handler, info.pk)
        elif info.outcome in ("paid", "underpaid"):
            if sum(info.patient_share.values(), ZERO) <= ZERO:
                return
            if info.patient_id in self.secondary and info.order == 1:
                self.at(now + datetime.timedelta(days=2, hours=1), self.bill_secondary, info.pk)
            else:
                self.at(
                    now + datetime.timedelta(days=rng.randint(2, 6), hours=3),
                    self.patient_bill,
                    info.patient_id,
                )

    def appeal(self, claim_id: int) -> None:
        info = self.claims[claim_id]
        claim = Claim.objects.get(pk=claim_id)
        carc = info.denial[0]
        note = {
            "16": "Corrected claim: the referring provider and the onset date were missing.",
            "50": "Appeal with the visit notes showing medical necessity.",
        }.get(carc, "Appeal with the visit notes.")
        claim_step(acting_user=self.biller, claim=claim, to_status=Claim.Status.APPEALED, note=note)
        if self.rng.random() < 0.7:
            info.outcome = "paid"
            low, high, _ = PAYER_TIMING.get(self.payers[info.payer_id].name, (20, 35, 2))
            self.schedule_answer(info, self.day() + datetime.timedelta(self.rng.randint(low, high)))

    def write_off_denial(self, claim_id: int) -> None:
        info = self.claims[claim_id]
        carc = info.denial[0]
        reason = {
            "197": "No prior authorization on file; not billable to the patient (CO-197).",
            "96": "Service not covered under the contract; not billable to the patient (CO-96).",
        }.get(carc, f"Denied as not medically necessary (CO-{carc}); appeal not worth pursuing.")
        for charge, _code in info.lines:
            owed = charge_owed(charge.pk, LedgerEntry.Responsibility.INSURANCE)
            if owed > ZERO:
                write_off(
                    acting_user=self.biller,
                    approver=self.manager,
                    charge=charge,
                    amount=owed,
                    reason=reason,
                    responsibility=LedgerEntry.Responsibility.INSURANCE,
                )
        claim = Claim.objects.get(pk=claim_id)
        claim_step(acting_user=self.biller, claim=claim, to_status=Claim.Status.CLOSED, note=reason)

    def bill_secondary(self, claim_id: int) -> None:
        primary_info = self.claims[claim_id]
        primary = Claim.objects.select_related("appointment__patient").get(pk=claim_id)
        try:
            secondary = claim_secondary_create(acting_user=self.biller, primary=primary)
        except ValidationError:
            return  # e.g. the secondary coverage was not active on the date of service
        claim_mark_ready(acting_user=self.biller, claim=secondary)
        self.ready += 1
        self.claims[secondary.pk] = ClaimInfo(
            pk=secondary.pk,
            number=secondary.claim_number,
            payer_id=secondary.payer_id,
            patient_id=primary_info.patient_id,
            member_id=secondary.coverage.member_id,
            order=2,
            lines=primary_info.lines,
            patient_share=dict(primary_info.patient_share),
        )

    # Patients' money

    def payment_method(self, patient_id: int, profile: Profile) -> str:
        if profile.method == "check" and patient_id in self.no_checks:
            return "card"
        return profile.method

    def patient_pay(
        self,
        patient_id: int,
        fraction: float = 1,
        plan_id: int | None = None,
        instalment: Decimal = ZERO,
    ) -> None:
        profile = self.profile(patient_id)
        plan = PaymentPlan.objects.get(pk=plan_id) if plan_id else None
        if plan is not None:
            if plan.status not in (PaymentPlan.Status.ACTIVE, PaymentPlan.Status.DELINQUENT):
                return
            amount = instalment
        else:
            amount = cents(patient_balance(patient_id) * Decimal(str(fraction)))
        if amount <= ZERO:
            return
        method = self.payment_method(patient_id, profile)
        extra = {}
        if method == "check":
            extra = {
                "check_number": str(profile.rng.randint(1001, 9999)),
                "routing_number": routing_number(profile.rng),
            }
        elif method == "card":
            extra = {"reference": f"AUTH {profile.rng.randint(100000, 999999)}"}
        location = self.locations.get(self.home.get(patient_id)) or next(
            iter(self.locations.values())
        )
        payment = payment_receive(
            acting_user=self.front_desk,
            amount=amount,
            method=method,
            location=location,
            patient=Patient(pk=patient_id),
            received_on=self.day(),
            plan=plan,
            **extra,
        )
        # The first checks of the year bounce for sure, so every demo has returned checks.
        self.checks += method == "check"
        if method == "check" and (self.checks in (2, 7) or profile.rng.random() < 0.05):
            self.at(
                timezone.now() + datetime.timedelta(days=profile.rng.randint(4, 9)),
                self.returned_check,
                payment.pk,
            )

    def returned_check(self, payment_id: int) -> None:
        payment = Payment.objects.get(pk=payment_id)
        payment_return_nsf(acting_user=self.biller, payment=payment, returned_on=self.day())
        self.no_checks.add(payment.patient_id)
        self.collections.add(payment.patient_id)
        self.at(timezone.now() + datetime.timedelta(days=12), self.patient_bill, payment.patient_id)

    def patient_bill(self, patient_id: int) -> None:
        """The patient owes something: what they do about it depends on who they are."""
        balance = patient_balance(patient_id)
        if balance <= ZERO:
            return
        profile = self.profile(patient_id)
        now = timezone.now()
        rng = profile.rng
        if profile.behaviour == "prompt":
            self.at(now + datetime.timedelta(days=rng.randint(5, 25)), self.patient_pay, patient_id)
        elif profile.behaviour == "slow":
            if balance > Decimal("150") and patient_id not in self.plans_ever:
                self.plans_ever.add(patient_id)
                self.at(now + self.later(7, 21), self.plan, patient_id)
            else:
                self.at(now + self.later(35, 80), self.patient_pay, patient_id)
        elif profile.behaviour == "partial":
            if balance > Decimal("60") and patient_id not in self.plans_ever:
                self.plans_ever.add(patient_id)
                self.at(now + self.later(7, 21), self.plan, patient_id)
            else:
                self.at(
                    now + datetime.timedelta(days=rng.randint(10, 30)),
                    self.patient_pay,
                    patient_id,
                    0.5,
                )
                self.at(now + self.later(45, 75), self.patient_pay, patient_id)
        elif patient_id not in self.collections:
            self.collections.add(patient_id)
            self.at(now + self.later(95, 130), self.delinquent, patient_id)

    def delinquent(self, patient_id: int) -> None:
        balance = patient_balance(patient_id)
        if balance >= Decimal("25.00"):
            collection_case_open(
                acting_user=self.biller,
                patient=Patient.objects.get(pk=patient_id),
                reason="No payment 90 days after the first statement",
            )
        elif balance > ZERO:
            for charge in charges_owed_by_patient(patient_id):
                write_off(
                    acting_user=self.biller,
                    approver=self.manager,
                    charge=charge,
                    amount=charge.owed,
                    reason="Small balance not worth collecting",
                )

    def plan(self, patient_id: int) -> None:
        balance = patient_balance(patient_id)
        if balance <= Decimal("60.00"):
            self.patient_pay(patient_id)
            return
        if PaymentPlan.objects.filter(
            patient_id=patient_id, status__in=PaymentPlan.LIVE_STATUSES
        ).exists():
            return
        profile = self.profile(patient_id)
        rng = profile.rng
        down = cents(balance * Decimal("0.2"))
        instalment = max(Decimal("25.00"), cents((balance - down) / 6))
        plan = payment_plan_propose(
            acting_user=self.biller,
            patient=Patient(pk=patient_id),
            down_payment=down,
            instalment_amount=instalment,
            frequency=PaymentPlan.Frequency.MONTHLY
            if self.span > 0.45
            else PaymentPlan.Frequency.WEEKLY,
            start_date=self.day(),
            note="Asked to spread the balance over several payments.",
        )
        if self.plans_made > 2 and rng.random() < 0.12:
            return  # still waiting for the manager
        payment_plan_authorize(acting_user=self.manager, plan=plan)
        self.plans_made += 1
        # The first plans are the ones that default, so every demo has defaulted plans.
        keeps_paying = self.plans_made > 2 and rng.random() < 0.65
        paid_instalments = len(plan.instalments.all()) if keeps_paying else 1
        for due in plan.instalments.order_by("number")[:paid_instalments]:
            day = max(due.due_date, self.day())
            moment = timezone.make_aware(
                datetime.datetime.combine(day, datetime.time(11, rng.randint(0, 59)))
            )
            self.at(moment, self.patient_pay, patient_id, 1, plan.pk, due.amount)

    def plans_check(self) -> None:
        plan_instalments_check(today=self.day())

    def statements_run(self) -> None:
        """The month's statements, made at once (the demo has no worker running). Statements
        the demo's guarantors agreed to receive by email are marked sent, but no mail leaves
        the machine: the demo's addresses are not real."""
        run = statement_run_start(acting_user=None, statement_date=self.day())
        statement_run_execute(
            run=run,
            mail_connection=get_connection("django.core.mail.backends.dummy.EmailBackend"),
        )

    def collections_run(self) -> None:
        """New cases for long-unpaid balances, stage moves and their letters."""
        collections_daily(today=self.day())

    def assistance(self, patient_id: int) -> None:
        if patient_balance(patient_id) <= ZERO:
            return
        rng = self.profile(patient_id).rng
        household = rng.randint(1, 5)
        income = cents(poverty_guideline(household) * Decimal(str(round(rng.uniform(0.7, 2.4), 2))))
        try:
            approval = financial_assistance_approve(
                acting_user=self.manager,
                patient=Patient.objects.get(pk=patient_id),
                household_income=income,
                household_size=household,
                valid_from=self.first_visit.get(patient_id, self.day()),
                note="Pay stubs and last year's tax return seen.",
            )
            financial_assistance_apply(acting_user=self.biller, approval=approval)
        except ValidationError:
            pass  # no band covers the income: billed as usual
        self.at(timezone.now() + datetime.timedelta(days=3), self.patient_bill, patient_id)


def billing_counts() -> dict[str, int]:
    return {
        "charges": Charge.objects.count(),
        "claims": Claim.objects.count(),
        "remittances": Remittance.objects.count(),
        "payments": Payment.objects.count(),
        "ledger_entries": LedgerEntry.objects.count(),
    }


def billing_start(size: DemoSize, today: datetime.date) -> datetime.date:
    return today - datetime.timedelta(weeks=min(size.weeks_past, size.billing_weeks))


def build_billing(
    size: DemoSize, progress: Progress, provider_step: int | None = None
) -> dict[str, int]:
    """A year (or what the schedule holds) of billing; skipped once charges exist.

    ``provider_step`` bills only every n-th provider's visits (default: the size's).
    """
    if provider_step:
        size = dataclasses.replace(size, billing_provider_step=provider_step)
    if Charge.objects.exists():
        return billing_counts()
    year = BillingYear(size, progress)
    # Like the bulk-inserted stages before it, the demo leaves the generic change log
    # (django-auditlog) out; the services' own audit events are recorded.
    with transaction.atomic(), disable_auditlog():
        year.run(billing_start(size, year.today))
    return billing_counts()
