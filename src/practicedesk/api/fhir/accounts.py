"""Patient accounts as FHIR R4 Account resources: one per patient, with the same id.

R4 (and R4B) Account has no balance; R5 added ``Account.balance`` (who owes it, how old it
is, how much). The balances travel in HL7's cross-version extension for that element, so an
R5-aware client reads them as R5 defines them and an R4 client can ignore them.
"""

import datetime

from django.db.models import Max, Min, Prefetch, Q
from django.utils import timezone

from practicedesk.api.fhir.billing import concept, money
from practicedesk.api.fhir.mappers import reference
from practicedesk.api.fhir.resources import ID_PARAM, ModelResource, SearchParam, any_of
from practicedesk.api.fhir.search import SearchError, numeric_id, token
from practicedesk.billing.models import ZERO, LedgerEntry
from practicedesk.billing.receivables import BUCKETS, aging_by_patient
from practicedesk.patients.models import Coverage, Patient

# The account number is the patient's MRN: one account per patient.
ACCOUNT_NUMBER_SYSTEM = "urn:practicedesk:account"
ACCOUNT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
BALANCE_EXTENSION = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Account.balance"
AGGREGATE_SYSTEM = "http://hl7.org/fhir/account-aggregate"
BALANCE_TERM_SYSTEM = "http://hl7.org/fhir/account-balance-term"
PATIENT = LedgerEntry.Responsibility.PATIENT
INSURANCE = LedgerEntry.Responsibility.INSURANCE
AGGREGATES = {PATIENT: ("patient", "Patient"), INSURANCE: ("insurance", "Insurance")}
# Our aging buckets as R5's balance terms: "current" is the first 30 days, "30" means more
# than 30 days old, and so on ("120": more than 120).
TERMS = {
    "0_30": ("current", "Current"),
    "31_60": ("30", "30 day"),
    "61_90": ("60", "60 day"),
    "91_120": ("90", "90 day"),
    "over_120": ("120", "120 day"),
}


def balance_extension(responsibility: str, amount, term: str | None = None) -> dict:
    code, display = AGGREGATES[responsibility]
    parts = [{"url": "aggregate", "valueCodeableConcept": concept(AGGREGATE_SYSTEM, code, display)}]
    if term is not None:
        term_code, term_display = TERMS[term]
        parts.append(
            {
                "url": "term",
                "valueCodeableConcept": concept(BALANCE_TERM_SYSTEM, term_code, term_display),
            }
        )
    parts += [
        {"url": "estimate", "valueBoolean": False},
        {"url": "amount", "valueMoney": money(amount)},
    ]
    return {"url": BALANCE_EXTENSION, "extension": parts}


def balance_extensions(aging: dict) -> list[dict]:
    """Per responsibility its whole balance, then the age buckets that hold money."""
    found = []
    for responsibility in (PATIENT, INSURANCE):
        row = aging.get(responsibility)
        found.append(balance_extension(responsibility, row.total if row else ZERO))
        if row is None:
            continue
        for bucket in BUCKETS:
            amount = row.buckets[bucket.key]
            if amount != ZERO:
                found.append(balance_extension(responsibility, amount, bucket.key))
    return found


def account_status(patient: Patient) -> str:
    return "active" if patient.status == Patient.Status.ACTIVE else "inactive"


def account_resource(patient: Patient) -> dict:
    party = patient.responsible_party
    resource = {
        "resourceType": "Account",
        "id": str(patient.pk),
        "extension": balance_extensions(patient.aging),
        "identifier": [{"system": ACCOUNT_NUMBER_SYSTEM, "value": patient.mrn}],
        "status": account_status(patient),
        "type": concept(ACCOUNT_TYPE_SYSTEM, "PBILLACCT", "patient billing account"),
        "name": f"Account of {patient.display_name}",
        "subject": [reference("Patient", patient.pk, patient.display_name)],
        "guarantor": [{"party": reference("Patient", party.pk, party.display_name)}],
    }
    if patient.first_service:
        resource["servicePeriod"] = {
            "start": patient.first_service.isoformat(),
            "end": patient.last_service.isoformat(),
        }
    if patient.current_coverages:
        resource["coverage"] = [
            {
                "coverage": reference("Coverage", coverage.pk, str(coverage)),
                "priority": coverage.order,
            }
            for coverage in patient.current_coverages
        ]
    return resource


def with_aging(patients: list[Patient], as_of: datetime.date) -> list[Patient]:
    """Each patient with ``aging``: its balance rows by responsibility, summed for the whole
    page in one query per responsibility."""
    ids = [patient.pk for patient in patients]
    rows = {}
    for responsibility in (PATIENT, INSURANCE):
        aging = aging_by_patient(
            as_of, responsibility=responsibility, exclude=~Q(patient_id__in=ids)
        )
        for row in aging.rows:
            rows.setdefault(row.object_id, {})[responsibility] = row
    for patient in patients:
        patient.aging = rows.get(patient.pk, {})
    return patients


class AccountResource(ModelResource):
    """A patient's account: who is responsible for it, the coverage that pays it, when its
    services were and what is owed, by whom and how old."""

    type = "Account"
    area = "billing"
    audited = True
    params = (
        ID_PARAM,
        SearchParam("patient", "reference", "Patient/id or id: the patient's account."),
        SearchParam("subject", "reference", "Patient/id or id (same as patient)."),
        SearchParam("guarantor", "reference", "Patient/id or id: accounts this person guarantees."),
        SearchParam(
            "identifier",
            "token",
            f"The account number (the patient's MRN), as {ACCOUNT_NUMBER_SYSTEM}|value or value.",
        ),
        SearchParam("status", "token", "active or inactive (the patient's record is not active)."),
    )

    def get_queryset(self):
        today = timezone.localdate()
        current = (
            Coverage.objects.filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
            .select_related("payer")
            .order_by("order", "-effective_date", "pk")
        )
        return (
            Patient.objects.select_related("guarantor")
            .annotate(
                first_service=Min("charges__date_of_service"),
                last_service=Max("charges__date_of_service"),
            )
            .prefetch_related(Prefetch("coverages", queryset=current, to_attr="current_coverages"))
            .order_by("last_name", "first_name", "pk")
        )

    def get(self, id):
        return with_aging([super().get(id)], timezone.localdate())[0]

    def search(self, params, count, offset):
        total, found = super().search(params, count, offset)
        return total, with_aging(found, timezone.localdate())

    def to_fhir(self, obj):
        return account_resource(obj)

    def filter_patient(self, queryset, params):
        return queryset.filter(
            any_of(params, "patient", lambda v: Q(pk=numeric_id("patient", v, "Patient")))
        )

    def filter_subject(self, queryset, params):
        return queryset.filter(
            any_of(params, "subject", lambda v: Q(pk=numeric_id("subject", v, "Patient")))
        )

    def filter_guarantor(self, queryset, params):
        def condition(value):
            pk = numeric_id("guarantor", value, "Patient")
            return Q(guarantor_id=pk) | Q(pk=pk, guarantor__isnull=True)

        return queryset.filter(any_of(params, "guarantor", condition))

    def filter_identifier(self, queryset, params):
        def condition(value):
            system, code = token(value)
            if system not in (None, ACCOUNT_NUMBER_SYSTEM):
                return Q(pk__in=[])
            return Q(mrn=code)

        return queryset.filter(any_of(params, "identifier", condition))

    def filter_status(self, queryset, params):
        active = Q(status=Patient.Status.ACTIVE)

        def condition(value):
            if value == "active":
                return active
            if value == "inactive":
                return ~active
            if value in ("entered-in-error", "on-hold", "unknown"):
                return Q(pk__in=[])
            raise SearchError(f"status is active or inactive, not {value!r}.")

        return queryset.filter(any_of(params, "status", condition))


ACCOUNT_RESOURCES = {resource.type: resource for resource in (AccountResource(),)}
