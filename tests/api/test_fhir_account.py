"""Patient accounts as FHIR Account resources: one per patient, valid R4B, with the guarantor,
current coverage, service period and balances; searched by patient, audited, billing-only."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from practicedesk.api.fhir.accounts import (
    AGGREGATE_SYSTEM,
    BALANCE_EXTENSION,
    BALANCE_TERM_SYSTEM,
)
from practicedesk.core.models import AuditEvent
from tests import factories
from tests.api.conftest import fhir_validate
from tests.factories import patient_charge

pytestmark = pytest.mark.django_db

OLD = datetime.date(2026, 1, 5)


@pytest.fixture
def fhir(api_client):
    client = api_client("biller")

    def get(path, params=None, expect=200):
        response = client.get(f"/fhir/{path}", params or {})
        assert response.status_code == expect, response.content
        assert response["Content-Type"].startswith("application/fhir+json")
        body = response.json()
        fhir_validate(body)
        return body

    get.client = client
    return get


def balances(account) -> list[tuple[str, str | None, Decimal]]:
    """(aggregate, term or None, amount) of each balance extension."""
    found = []
    for extension in account.get("extension", []):
        assert extension["url"] == BALANCE_EXTENSION
        parts = {part["url"]: part for part in extension["extension"]}
        aggregate = parts["aggregate"]["valueCodeableConcept"]["coding"][0]
        assert aggregate["system"] == AGGREGATE_SYSTEM
        term = parts.get("term")
        if term is not None:
            assert term["valueCodeableConcept"]["coding"][0]["system"] == BALANCE_TERM_SYSTEM
        found.append(
            (
                aggregate["code"],
                term["valueCodeableConcept"]["coding"][0]["code"] if term else None,
                Decimal(str(parts["amount"]["valueMoney"]["value"])),
            )
        )
    return found


def test_the_capability_statement_serves_account_searched_by_patient():
    statement = APIClient().get("/fhir/metadata").json()
    fhir_validate(statement)
    served = {resource["type"]: resource for resource in statement["rest"][0]["resource"]}
    assert "Account" in served
    params = {param["name"] for param in served["Account"]["searchParam"]}
    assert {"_id", "patient", "subject", "status"} <= params


def test_a_patients_account_reads_as_a_valid_fhir_account(fhir):
    guarantor = factories.PatientFactory(first_name="Pat", last_name="Parent")
    patient = factories.PatientFactory(first_name="Kim", last_name="Child", guarantor=guarantor)
    payer = factories.PayerFactory(name="Acme Health")
    coverage = factories.CoverageFactory(patient=patient, payer=payer, end_date=None)
    factories.CoverageFactory(
        patient=patient,
        payer=factories.PayerFactory(),
        order=2,
        effective_date=datetime.date(2020, 1, 1),
        end_date=datetime.date(2020, 12, 31),
    )
    patient_charge(patient, "100.00", date_of_service=OLD)
    today = timezone.localdate()
    patient_charge(patient, "80.00", date_of_service=today, responsibility="insurance", payer=payer)

    account = fhir(f"Account/{patient.pk}")
    assert account["id"] == str(patient.pk)
    assert account["status"] == "active"
    assert account["subject"][0]["reference"] == f"Patient/{patient.pk}"
    assert account["guarantor"] == [
        {"party": {"reference": f"Patient/{guarantor.pk}", "display": "Pat Parent"}}
    ]
    # Only the coverage in force pays the account; the ended one is history.
    assert [c["coverage"]["reference"] for c in account["coverage"]] == [f"Coverage/{coverage.pk}"]
    assert account["coverage"][0]["priority"] == 1
    assert account["servicePeriod"] == {"start": OLD.isoformat(), "end": today.isoformat()}
    assert balances(account) == [
        ("patient", None, Decimal("100.00")),
        ("patient", "120", Decimal("100.00")),
        ("insurance", None, Decimal("80.00")),
        ("insurance", "current", Decimal("80.00")),
    ]


def test_an_account_without_charges_is_still_served_with_zero_balances(fhir):
    patient = factories.PatientFactory(status="inactive")
    account = fhir(f"Account/{patient.pk}")
    assert account["status"] == "inactive"
    assert "servicePeriod" not in account
    assert account["guarantor"][0]["party"]["reference"] == f"Patient/{patient.pk}"
    assert balances(account) == [
        ("patient", None, Decimal("0.00")),
        ("insurance", None, Decimal("0.00")),
    ]
    fhir("Account/999999", expect=404)


def test_accounts_are_searched_by_patient_and_status(fhir):
    first = factories.PatientFactory()
    second = factories.PatientFactory(status="inactive")
    patient_charge(first, "25.00")
    bundle = fhir("Account", {"patient": f"Patient/{first.pk}"})
    assert [entry["resource"]["id"] for entry in bundle["entry"]] == [str(first.pk)]
    assert balances(bundle["entry"][0]["resource"])[0] == ("patient", None, Decimal("25.00"))
    inactive = fhir("Account", {"status": "inactive"})
    assert [entry["resource"]["id"] for entry in inactive["entry"]] == [str(second.pk)]
    fhir("Account", {"status": "closed"}, expect=400)


def test_a_guarantors_accounts_are_found_by_guarantor(fhir):
    parent = factories.PatientFactory()
    child = factories.PatientFactory(guarantor=parent)
    factories.PatientFactory()
    bundle = fhir("Account", {"guarantor": f"Patient/{parent.pk}"})
    assert sorted(entry["resource"]["id"] for entry in bundle["entry"]) == sorted(
        [str(parent.pk), str(child.pk)]
    )


def test_an_account_search_costs_the_same_queries_for_more_accounts(fhir):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            fhir("Account")
        return len(captured)

    patient_charge(amount="10.00")
    one = queries()
    for _ in range(3):
        coverage = factories.CoverageFactory()
        patient_charge(coverage.patient, "20.00")
    assert queries() == one


def test_accounts_are_billing_records_and_their_reads_are_audited(fhir, api_client):
    patient = factories.PatientFactory()
    assert api_client("clinician").get(f"/fhir/Account/{patient.pk}").status_code == 403
    fhir(f"Account/{patient.pk}")
    fhir("Account", {"patient": patient.pk})
    events = AuditEvent.objects.filter(
        action=AuditEvent.Action.READ, user=fhir.client.user
    ).order_by("id")
    assert [(event.name, event.object_id) for event in events] == [
        ("fhir_read", str(patient.pk)),
        ("fhir_patients.patient_list", ""),
    ]
