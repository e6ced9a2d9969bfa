"""Every URL of the app, requested as every role, is allowed or refused exactly as
``core.roles`` declares. A new view without a declared area fails here."""

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from practicedesk.core.roles import ROLES
from tests import factories

PUBLIC_URL_NAMES = {
    "login",
    "logout",
    "healthz",
    "two_factor_setup",
    "two_factor_verify",
    "reminder_respond",
}
# Pages every signed-in user has, whatever the role (their own home page).
ANY_ROLE_URL_NAMES = {"home"}
SKIPPED_NAMESPACES = {"admin"}
# The REST and FHIR interfaces answer 401/403 rather than redirect; tests/api proves their matrix.
SKIPPED_ROUTE_PREFIXES = ("api/", "fhir/")


def walk(resolver, prefix="", namespace=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace or namespace
            if inner in SKIPPED_NAMESPACES:
                continue
            yield from walk(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield prefix + str(entry.pattern), name, entry


def app_urls():
    return [
        (route, name, entry)
        for route, name, entry in walk(get_resolver())
        if name
        and name not in PUBLIC_URL_NAMES
        and not route.startswith("static")
        and not route.startswith(SKIPPED_ROUTE_PREFIXES)
    ]


def declared_permission(entry: URLPattern, route: str) -> tuple[str, str] | None:
    if entry.name in ANY_ROLE_URL_NAMES:
        return None
    view_class = getattr(entry.callback, "view_class", None)
    assert view_class is not None and getattr(view_class, "area", ""), (
        f"{route} has no declared area: give its view an `area` (and `action`)."
    )
    action = view_class.action
    if getattr(view_class, "create_or_change", False) or view_class.__name__.endswith("EditView"):
        action = "change" if "<int:pk>" in route or "pk>" in route else "add"
    return view_class.area, action


@pytest.fixture
def sample_objects(db):
    manager = factories.UserFactory(username="sample-owner")
    location = factories.LocationFactory()
    factories.OrganizationFactory()
    document = factories.DocumentFactory(owner=manager)
    objects = {"location": location, "user": manager, "document": document}
    patient = factories.PatientFactory()
    objects.update(
        patient=patient,
        payer=factories.PayerFactory(),
        coverage=factories.CoverageFactory(patient=patient),
        patientalert=factories.PatientAlertFactory(patient=patient),
        referralsource=factories.ReferralSourceFactory(),
    )
    # Scheduling follow-up: waitlist, recalls, encounters, records requests.
    appointment = objects.setdefault(
        "appointment", factories.AppointmentFactory(patient=patient, location=location)
    )
    objects.update(
        waitlistentry=factories.WaitlistEntryFactory(patient=patient, location=location),
        recall=factories.RecallFactory(patient=patient),
        encounter=factories.EncounterFactory(appointment=appointment),
        recordsrequest=factories.RecordsRequestFactory(patient=patient),
    )
    # Scheduling resources: providers, working hours, rooms, types, closed time.
    provider = appointment.provider
    factories.weekly_schedule(provider, location, weekdays=[0])
    objects.update(
        provider=provider,
        scheduletemplate=provider.templates.first(),
        room=factories.RoomFactory(location=location),
        appointmenttype=appointment.appointment_type,
        scheduleexception=factories.ScheduleExceptionFactory(provider=provider),
    )
    # Claims (837P) and claim batches.
    objects.update(
        claim=factories.ClaimFactory(appointment=appointment, coverage=objects["coverage"]),
        claimbatch=factories.ClaimBatchFactory(),
    )
    # Remittances (835) and their queues.
    remittance_line = factories.RemittanceLineFactory(claim=objects["claim"])
    objects.update(
        remittance=remittance_line.remittance,
        reconciliationitem=factories.ReconciliationItemFactory(
            remittance=remittance_line.remittance
        ),
        underpayment=factories.UnderpaymentFactory(remittance_line=remittance_line),
    )
    # Service codes, fee schedules and fees, charges, eligibility checks.
    service_code = factories.ServiceCodeFactory()
    fee_schedule = factories.FeeScheduleFactory()
    objects.update(
        servicecode=service_code,
        feeschedule=fee_schedule,
        fee=factories.FeeFactory(fee_schedule=fee_schedule, service_code=service_code),
        charge=factories.ChargeFactory(
            patient=patient, appointment=appointment, service_code=service_code
        ),
        eligibilitycheck=factories.EligibilityCheckFactory(
            coverage=objects["coverage"], appointment=appointment
        ),
    )
    # Payments, payment plans, financial assistance.
    objects.update(
        payment=factories.PaymentFactory(patient=patient, location=location),
        paymentplan=factories.PaymentPlanFactory(patient=patient),
        financialassistanceband=factories.FinancialAssistanceBandFactory(),
        financialassistanceapproval=factories.FinancialAssistanceApprovalFactory(patient=patient),
    )
    # Statements and collections: a run with one statement, a case with a letter and a
    # write-off request (the files are small real PDFs, so downloads answer 200).
    objects.update(sample_statements_and_collections(patient, manager))
    try:
        from django.utils import timezone
        from django_tasks_db.models import DBTaskResult

        objects["dbtaskresult"] = DBTaskResult.objects.create(
            args_kwargs={"args": [], "kwargs": {}},
            task_path="practicedesk.core.tasks.documents_verify_checksums",
            backend_name="default",
            run_after=timezone.now(),
        )
    except ImportError:  # pragma: no cover - the task backend is always installed
        pass
    return objects


def sample_statements_and_collections(patient, user) -> dict:
    import datetime
    import hashlib
    from decimal import Decimal

    from django.core.files.base import ContentFile

    from practicedesk.billing.models import (
        CollectionLetter,
        CollectionWriteOff,
        Statement,
        StatementRun,
    )

    pdf = b"%PDF-1.4\n%sample\n%%EOF\n"
    sha256 = hashlib.sha256(pdf).hexdigest()
    day = datetime.date(2026, 11, 1)
    run = StatementRun.objects.create(statement_date=day, status="done")
    zero = Decimal("0.00")
    statement = Statement(
        run=run,
        statement_number="S99999999",
        guarantor=patient,
        statement_date=day,
        period_start=day,
        previous_balance=zero,
        new_charges=Decimal("10.00"),
        payments_and_credits=zero,
        amount_due=Decimal("10.00"),
        due_date=day,
        delivery="print",
        sha256=sha256,
        size_bytes=len(pdf),
    )
    statement.file.save("statement.pdf", ContentFile(pdf), save=True)
    case = factories.CollectionCaseFactory(patient=patient)
    letter = CollectionLetter(
        case=case, stage=case.stage, balance=Decimal("10.00"), sha256=sha256, size_bytes=len(pdf)
    )
    letter.file.save("letter.pdf", ContentFile(pdf), save=True)
    write_off = CollectionWriteOff.objects.create(
        case=case, amount=Decimal("10.00"), reason="Sample", requested_by=user
    )
    return {
        "statementrun": run,
        "statement": statement,
        "collectioncase": case,
        "collectionletter": letter,
        "collectionwriteoff": write_off,
    }


def concrete_path(route: str, entry: URLPattern, objects) -> str:
    view_class = getattr(entry.callback, "view_class", None)
    model = getattr(view_class, "model", None) or getattr(
        getattr(view_class, "queryset", None), "model", None
    )
    path = "/" + route
    if "<int:pk>" in path:
        key = model._meta.model_name if model is not None else ""
        obj = objects.get(key)
        assert obj is not None, f"No sample object for {route}; add one to sample_objects."
        path = path.replace("<int:pk>", str(obj.pk))
    for key in re.findall(r"<int:(\w+)_pk>", path):
        # e.g. <int:appointment_pk>: the sample object of that model.
        obj = objects.get(key)
        assert obj is not None, f"No sample {key} for {route}; add one to sample_objects."
        path = path.replace(f"<int:{key}_pk>", str(obj.pk))
    if "<uuid:pk>" in path:
        obj = objects.get("dbtaskresult")
        path = path.replace("<uuid:pk>", str(obj.pk if obj else uuid.uuid4()))
    assert "<" not in path, f"Teach concrete_path how to fill {route}"
    return path


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.key)
def test_every_url_obeys_the_declared_matrix_for_every_role(
    role, client, make_user, sample_objects
):
    user = make_user(role.key, two_factor_exempt=True)
    client.force_login(user)
    mismatches = []
    for route, name, entry in app_urls():
        permission = declared_permission(entry, route)
        path = concrete_path(route, entry, sample_objects)
        status = client.get(path).status_code
        allowed = permission is None or role.allows(*permission)
        area, action = permission or ("any", "view")
        if allowed and status == 403:
            mismatches.append(f"{name} {path}: refused but {role.key} may {action} {area}")
        if not allowed and status != 403:
            mismatches.append(
                f"{name} {path}: answered {status} but {role.key} may not {action} {area}"
            )
        assert status < 500, f"{name} {path} failed with {status} for {role.key}"
    assert not mismatches, "\n".join(mismatches)


def test_every_url_sends_an_anonymous_visitor_to_sign_in(client, sample_objects):
    for route, name, entry in app_urls():
        path = concrete_path(route, entry, sample_objects)
        response = client.get(path)
        assert response.status_code == 302, f"{name} {path} answered {response.status_code}"
        assert response["Location"].startswith("/accounts/login/"), name


def test_the_admin_is_closed_to_practice_roles(client, make_user):
    client.force_login(make_user("manager", two_factor_exempt=True))
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
