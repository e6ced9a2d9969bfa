"""Insurance and billing as FHIR R4 resources: Coverage, Claim and ChargeItem.

Payers are not served as Organization resources; they are named where they appear, by name
and payer id (a logical reference), so a client never follows a reference we cannot answer.
"""

import datetime
from decimal import Decimal

from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils import timezone

from practicedesk.api.fhir.mappers import IDENTIFIER_TYPE_SYSTEM, instant, reference
from practicedesk.api.fhir.resources import ID_PARAM, ModelResource, SearchParam, any_of
from practicedesk.api.fhir.search import (
    DATE_FIELD_LOOKUPS,
    SearchError,
    date_bound,
    numeric_id,
    plain_date,
    token,
)
from practicedesk.billing.models import Charge, Claim, ClaimLine, ServiceCode, VisitDiagnosis
from practicedesk.patients.models import Coverage, Payer
from practicedesk.scheduling.models import Appointment, Encounter

CURRENCY = "USD"
PAYER_ID_SYSTEM = "urn:practicedesk:payer-id"
CLAIM_NUMBER_SYSTEM = "urn:practicedesk:claim-number"
ENCOUNTER_SYSTEM = "urn:practicedesk:encounter"
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
HCPCS_SYSTEM = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
PLACE_OF_SERVICE_SYSTEM = (
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set.html"
)
SUBSCRIBER_RELATIONSHIP_SYSTEM = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
COVERAGE_CLASS_SYSTEM = "http://terminology.hl7.org/CodeSystem/coverage-class"
PAYMENT_TYPOLOGY_SYSTEM = "https://nahdo.org/sopt"
CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
PRIORITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/processpriority"
CARE_TEAM_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
DIAGNOSIS_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-diagnosistype"

# X12 individual relationship codes (what the 837 sends) as FHIR subscriber relationships.
RELATIONSHIP = {
    Coverage.Relationship.SELF: ("self", "Self"),
    Coverage.Relationship.SPOUSE: ("spouse", "Spouse"),
    Coverage.Relationship.CHILD: ("child", "Child"),
    Coverage.Relationship.OTHER: ("other", "Other"),
}
# Source of payment typology (the code set US Core uses for Coverage.type).
PAYMENT_TYPOLOGY = {
    Payer.Type.MEDICARE: ("1", "MEDICARE"),
    Payer.Type.MEDICAID: ("2", "MEDICAID"),
    Payer.Type.COMMERCIAL: ("5", "PRIVATE HEALTH INSURANCE"),
    Payer.Type.WORKERS_COMP: ("95", "Worker's Compensation"),
    Payer.Type.SELF_PAY: ("81", "Self-pay"),
}
CLAIM_STATUS = {Claim.Status.DRAFT: "draft", Claim.Status.CLOSED: "cancelled"}
CLAIM_ACTIVE = "active"


def money(amount: Decimal) -> dict:
    return {"value": amount, "currency": CURRENCY}


def coding(system: str, code: str, display: str = "") -> dict:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def concept(system: str, code: str, display: str = "") -> dict:
    return {"coding": [coding(system, code, display)]}


def procedure_system(code: str) -> str:
    """CPT codes start with a digit (99213, 0001U); HCPCS Level II with a letter (G0439)."""
    return CPT_SYSTEM if code[:1].isdigit() else HCPCS_SYSTEM


def procedure_concept(service_code: ServiceCode) -> dict:
    return {
        "coding": [
            coding(procedure_system(service_code.code), service_code.code, service_code.description)
        ],
        "text": service_code.description,
    }


def modifier_concept(modifier: str) -> dict:
    return concept(procedure_system(modifier), modifier)


def diagnosis_concept(code: str) -> dict:
    return concept(ICD10CM_SYSTEM, code)


def payer_reference(payer: Payer) -> dict:
    found = {"type": "Organization", "display": payer.name}
    if payer.payer_id:
        found["identifier"] = {"system": PAYER_ID_SYSTEM, "value": payer.payer_id}
    return found


def coverage_status(coverage: Coverage, today: datetime.date) -> str:
    return "cancelled" if coverage.end_date is not None and coverage.end_date < today else "active"


def coverage_resource(coverage: Coverage) -> dict:
    patient = coverage.patient
    relationship, relationship_display = RELATIONSHIP[coverage.relationship]
    if coverage.relationship == Coverage.Relationship.SELF:
        subscriber = reference("Patient", patient.pk, patient.display_name)
    else:
        name = f"{coverage.subscriber_first_name} {coverage.subscriber_last_name}".strip()
        subscriber = {"type": "RelatedPerson", "display": name}
    period = {"start": coverage.effective_date.isoformat()}
    if coverage.end_date:
        period["end"] = coverage.end_date.isoformat()
    resource = {
        "resourceType": "Coverage",
        "id": str(coverage.pk),
        "identifier": [
            {
                "type": concept(IDENTIFIER_TYPE_SYSTEM, "MB", "Member Number"),
                "value": coverage.member_id,
            }
        ],
        "status": coverage_status(coverage, timezone.localdate()),
        "subscriber": subscriber,
        "subscriberId": coverage.member_id,
        "beneficiary": reference("Patient", patient.pk, patient.display_name),
        "relationship": concept(SUBSCRIBER_RELATIONSHIP_SYSTEM, relationship, relationship_display),
        "period": period,
        "payor": [payer_reference(coverage.payer)],
        "order": coverage.order,
    }
    typology = PAYMENT_TYPOLOGY.get(coverage.payer.payer_type)
    if typology:
        resource["type"] = concept(PAYMENT_TYPOLOGY_SYSTEM, *typology)
    classes = []
    if coverage.group_number:
        classes.append(
            {
                "type": concept(COVERAGE_CLASS_SYSTEM, "group", "Group"),
                "value": coverage.group_number,
            }
        )
    if coverage.plan_name:
        classes.append(
            {
                "type": concept(COVERAGE_CLASS_SYSTEM, "plan", "Plan"),
                "value": coverage.plan_name,
                "name": coverage.plan_name,
            }
        )
    if classes:
        resource["class"] = classes
    return resource


def claim_status(claim: Claim) -> str:
    return CLAIM_STATUS.get(claim.status, CLAIM_ACTIVE)


def claim_item(line: ClaimLine) -> dict:
    charge = line.charge
    item = {
        "sequence": line.line_number,
        "careTeamSequence": [1],
        "diagnosisSequence": list(charge.diagnosis_pointers),
        "productOrService": procedure_concept(charge.service_code),
        "servicedDate": charge.date_of_service.isoformat(),
        "locationCodeableConcept": concept(PLACE_OF_SERVICE_SYSTEM, charge.place_of_service),
        "quantity": {"value": charge.units},
        "unitPrice": money(charge.unit_price),
        "net": money(charge.amount),
    }
    if charge.modifiers:
        item["modifier"] = [modifier_concept(modifier) for modifier in charge.modifiers]
    return item


def claim_resource(claim: Claim) -> dict:
    provider = claim.rendering_provider
    day = claim.date_of_service.isoformat()
    resource = {
        "resourceType": "Claim",
        "id": str(claim.pk),
        "identifier": [{"system": CLAIM_NUMBER_SYSTEM, "value": claim.claim_number}],
        "status": claim_status(claim),
        "type": concept(CLAIM_TYPE_SYSTEM, "professional", "Professional"),
        "use": "claim",
        "patient": reference("Patient", claim.patient_id, claim.patient.display_name),
        "billablePeriod": {"start": day, "end": day},
        "created": instant(claim.created_at),
        "insurer": payer_reference(claim.payer),
        "provider": reference("Practitioner", provider.pk, str(provider)),
        "priority": concept(PRIORITY_SYSTEM, "normal", "Normal"),
        "facility": reference("Location", claim.billing_location_id, str(claim.billing_location)),
        "careTeam": [
            {
                "sequence": 1,
                "provider": reference("Practitioner", provider.pk, str(provider)),
                "responsible": True,
                "role": concept(CARE_TEAM_ROLE_SYSTEM, "primary", "Primary provider"),
            }
        ],
        "diagnosis": [
            {
                "sequence": diagnosis.position,
                "diagnosisCodeableConcept": diagnosis_concept(diagnosis.code),
            }
            for diagnosis in claim.appointment.diagnoses.all()
        ],
        "insurance": [
            {
                "sequence": 1,
                "focal": True,
                "coverage": reference("Coverage", claim.coverage_id, str(claim.coverage)),
            }
        ],
        "item": [claim_item(line) for line in claim.lines.all()],
        "total": money(claim.total_charge),
    }
    if claim.primary_claim_id:
        resource["related"] = [{"claim": reference("Claim", claim.primary_claim_id)}]
    return resource


def charge_item_status(charge: Charge) -> str:
    if charge.is_reversed:
        return "entered-in-error"
    return "billed" if charge.is_billed else "billable"


def encounter_of(appointment: Appointment) -> Encounter | None:
    try:
        return appointment.encounter
    except Encounter.DoesNotExist:
        return None


def charge_item_resource(charge: Charge) -> dict:
    diagnoses = {d.position: d.code for d in charge.appointment.diagnoses.all()}
    provider = charge.rendering_provider
    resource = {
        "resourceType": "ChargeItem",
        "id": str(charge.pk),
        "status": charge_item_status(charge),
        "code": procedure_concept(charge.service_code),
        "subject": reference("Patient", charge.patient_id, charge.patient.display_name),
        "occurrenceDateTime": charge.date_of_service.isoformat(),
        "performer": [{"actor": reference("Practitioner", provider.pk, str(provider))}],
        "quantity": {"value": charge.units},
        # R4B has no line total of its own: the amount posted (units × the fee in force) is
        # the charge's price, and the reason says where it came from.
        "priceOverride": money(charge.amount),
        "overrideReason": (
            f"{charge.units} × {charge.unit_price} {CURRENCY} from the practice fee schedule "
            f"in force on {charge.date_of_service.isoformat()}"
        ),
        "enteredDate": instant(charge.posted_at),
        "reason": [
            diagnosis_concept(diagnoses[pointer])
            for pointer in charge.diagnosis_pointers
            if pointer in diagnoses
        ],
        "supportingInformation": [reference("Appointment", charge.appointment_id)],
    }
    encounter = encounter_of(charge.appointment)
    if encounter is not None:
        # Encounters are not served here: a logical reference names it without a dead link.
        resource["context"] = {
            "type": "Encounter",
            "identifier": {"system": ENCOUNTER_SYSTEM, "value": str(encounter.pk)},
            "display": str(encounter),
        }
    if charge.modifiers:
        resource["note"] = [{"text": f"Modifiers: {', '.join(charge.modifiers)}"}]
    return resource


def ordered_diagnoses() -> Prefetch:
    return Prefetch("appointment__diagnoses", queryset=VisitDiagnosis.objects.order_by("position"))


def patient_condition(name: str):
    return lambda value: Q(patient_id=numeric_id(name, value, "Patient"))


class CoverageResource(ModelResource):
    type = "Coverage"
    area = "patients"
    read_areas = ("billing",)
    audited = True
    params = (
        ID_PARAM,
        SearchParam("patient", "reference", "Patient/id or id: the covered patient."),
        SearchParam("beneficiary", "reference", "Patient/id or id (same as patient)."),
        SearchParam("status", "token", "active or cancelled (ended before today)."),
    )

    def get_queryset(self):
        return Coverage.objects.select_related("patient", "payer").order_by(
            "patient_id", "order", "-effective_date", "pk"
        )

    def to_fhir(self, obj):
        return coverage_resource(obj)

    def filter_patient(self, queryset, params):
        return queryset.filter(any_of(params, "patient", patient_condition("patient")))

    def filter_beneficiary(self, queryset, params):
        return queryset.filter(any_of(params, "beneficiary", patient_condition("beneficiary")))

    def filter_status(self, queryset, params):
        today = timezone.localdate()
        ended = Q(end_date__lt=today)

        def condition(value):
            if value == "active":
                return ~ended
            if value == "cancelled":
                return ended
            if value in ("draft", "entered-in-error"):
                return Q(pk__in=[])
            raise SearchError(f"status is active or cancelled, not {value!r}.")

        return queryset.filter(any_of(params, "status", condition))


class ClaimResource(ModelResource):
    type = "Claim"
    area = "billing"
    audited = True
    params = (
        ID_PARAM,
        SearchParam("patient", "reference", "Patient/id or id."),
        SearchParam(
            "status",
            "token",
            "draft, active (ready, submitted, with the payer, paid...) or cancelled (closed).",
        ),
        SearchParam(
            "created",
            "date",
            "When the claim was created: a day or date-time with eq/ge/gt/le/lt prefixes; "
            "repeat for a range.",
        ),
        SearchParam(
            "identifier", "token", f"The claim number, as {CLAIM_NUMBER_SYSTEM}|value or value."
        ),
    )

    def get_queryset(self):
        return (
            Claim.objects.select_related(
                "patient", "payer", "coverage__payer", "rendering_provider", "billing_location"
            )
            .prefetch_related(
                Prefetch(
                    "lines",
                    queryset=ClaimLine.objects.select_related("charge__service_code").order_by(
                        "line_number"
                    ),
                ),
                ordered_diagnoses(),
            )
            .order_by("-created_at", "-pk")
        )

    def to_fhir(self, obj):
        return claim_resource(obj)

    def filter_patient(self, queryset, params):
        return queryset.filter(any_of(params, "patient", patient_condition("patient")))

    def filter_status(self, queryset, params):
        ours = {theirs: [status] for status, theirs in CLAIM_STATUS.items()}

        def condition(value):
            if value in ours:
                return Q(status__in=ours[value])
            if value == CLAIM_ACTIVE:
                return ~Q(status__in=list(CLAIM_STATUS))
            if value == "entered-in-error":
                return Q(pk__in=[])
            raise SearchError(f"status is draft, active or cancelled, not {value!r}.")

        return queryset.filter(any_of(params, "status", condition))

    def filter_created(self, queryset, params):
        for raw in params.getlist("created"):
            queryset = queryset.filter(**date_bound("created", raw).q_lookups("created_at"))
        return queryset

    def filter_identifier(self, queryset, params):
        def condition(value):
            system, code = token(value)
            if system not in (None, CLAIM_NUMBER_SYSTEM):
                return Q(pk__in=[])
            return Q(claim_number__iexact=code)

        return queryset.filter(any_of(params, "identifier", condition))


class ChargeItemResource(ModelResource):
    """Posted charges. A reversed charge reads as entered-in-error; the reversing entry itself
    is the ledger's bookkeeping, not a charge of its own, and is not served."""

    type = "ChargeItem"
    area = "billing"
    audited = True
    params = (
        ID_PARAM,
        SearchParam("patient", "reference", "Patient/id or id."),
        SearchParam("subject", "reference", "Patient/id or id (same as patient)."),
        SearchParam(
            "occurrence",
            "date",
            "Date of service, YYYY-MM-DD with eq/ge/gt/le/lt prefixes; repeat for a range.",
        ),
    )

    def get_queryset(self):
        return (
            Charge.objects.filter(reverses__isnull=True)
            .select_related(
                "patient", "rendering_provider", "service_code", "appointment__encounter"
            )
            .prefetch_related(ordered_diagnoses())
            .annotate(
                is_reversed=Exists(Charge.objects.filter(reverses=OuterRef("pk"))),
                is_billed=Exists(
                    ClaimLine.objects.filter(
                        charge=OuterRef("pk"), claim__first_submitted_at__isnull=False
                    )
                ),
            )
            .order_by("-date_of_service", "pk")
        )

    def to_fhir(self, obj):
        return charge_item_resource(obj)

    def filter_patient(self, queryset, params):
        return queryset.filter(any_of(params, "patient", patient_condition("patient")))

    def filter_subject(self, queryset, params):
        return queryset.filter(any_of(params, "subject", patient_condition("subject")))

    def filter_occurrence(self, queryset, params):
        for raw in params.getlist("occurrence"):
            prefix, day = plain_date("occurrence", raw)
            queryset = queryset.filter(**{f"date_of_service{DATE_FIELD_LOOKUPS[prefix]}": day})
        return queryset


BILLING_RESOURCES = {
    resource.type: resource
    for resource in (CoverageResource(), ClaimResource(), ChargeItemResource())
}
