"""837P out: the files we write pass pyx12 against its 005010X222A1 map with zero errors, the
export submits what it wrote and records the batch, control numbers only go up, and the
command line refuses bad arguments without submitting anything."""

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from practicedesk.billing import services
from practicedesk.billing.models import (
    Claim,
    ClaimBatch,
    ClaimStatusChange,
    Remittance,
    RemittanceLine,
)
from practicedesk.billing.services import (
    ChargeLine,
    charges_post,
    claim_create,
    claim_mark_ready,
    claim_secondary_create,
    claim_status_set,
    claims_export,
    visit_diagnoses_set,
)
from practicedesk.billing.x12.validate import validate_837
from practicedesk.core.models import AuditEvent
from practicedesk.scheduling.models import Appointment
from tests import factories

pytestmark = pytest.mark.django_db

SAMPLE_837 = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "samples"
    / "x12"
    / "lfh-demo.example1.837"
)
Status = Claim.Status


def segments(text: str) -> list[str]:
    return [segment for segment in text.split("~") if segment]


def segment_ids(text: str) -> list[str]:
    return [segment.split("*", 1)[0] for segment in segments(text)]


@pytest.fixture
def practice(db):
    return factories.OrganizationFactory(npi="1245319599", email="billing@practice.test")


@pytest.fixture
def biller(make_user):
    return make_user("biller", two_factor_exempt=True)


def bill_visit(coverage, service_codes, user, *, days_ago=7, codes=("E11.9", "I10"), lines=None):
    """A checked-out visit of the coverage's patient with diagnoses and posted charges."""
    location = factories.LocationFactory()
    provider = factories.ProviderFactory(locations=[location])
    start = timezone.now().replace(microsecond=0) - datetime.timedelta(days=days_ago)
    visit = Appointment.objects.create(
        patient=coverage.patient,
        provider=provider,
        location=location,
        appointment_type=factories.AppointmentTypeFactory(name="Follow-up"),
        coverage=coverage,
        start=start,
        end=start + datetime.timedelta(minutes=20),
        status=Appointment.Status.CHECKED_OUT,
        arrived_at=start,
        checked_out_at=start + datetime.timedelta(minutes=25),
    )
    visit_diagnoses_set(acting_user=user, appointment=visit, codes=list(codes))
    charges_post(
        acting_user=user,
        appointment=visit,
        lines=lines
        or [
            ChargeLine(service_codes["99214"], diagnosis_pointers=(1, 2), modifiers=("25",)),
            ChargeLine(service_codes["36415"], diagnosis_pointers=(1,)),
        ],
    )
    return visit


def ready_claim(visit, user, **kwargs) -> Claim:
    claim = claim_create(acting_user=user, appointment=visit, **kwargs)
    return claim_mark_ready(acting_user=user, claim=claim)


def pay_primary(claim: Claim, user, *, adjustments) -> None:
    """The primary payer's remittance of a submitted claim: each line paid less its
    adjustments, the claim paid."""
    remittance = Remittance.objects.create(
        file_sha256="a" * 64,
        transaction_control_number=f"T{claim.pk}",
        payer=claim.payer,
        payer_name=claim.payer.name,
        payment_amount=Decimal("0.00"),
        payment_date=claim.date_of_service + datetime.timedelta(days=20),
        trace_number=f"EFT{claim.pk}",
    )
    for line in claim.lines.select_related("charge__service_code"):
        charge = line.charge
        adjusted = [[group, reason, str(amount)] for group, reason, amount in adjustments]
        paid = charge.amount - sum(amount for _group, _reason, amount in adjustments)
        RemittanceLine.objects.create(
            remittance=remittance,
            claim_number=claim.claim_number,
            claim=claim,
            charge=charge,
            claim_status_code="1",
            procedure_code=charge.service_code.code,
            billed=charge.amount,
            allowed=paid,
            paid=paid,
            adjustments=adjusted,
            service_date=charge.date_of_service,
        )
    claim_status_set(acting_user=user, claim=claim, to_status=Status.PAID)


def test_an_837_of_one_claim_validates_with_pyx12_with_zero_errors(billed_visit, practice, biller):
    claim = ready_claim(billed_visit, biller)
    batch = claims_export(acting_user=biller)
    assert validate_837(batch.content) == []
    text = batch.content
    assert text.startswith("ISA*00*")
    assert text.endswith("~")
    assert f"CLM*{claim.claim_number}*180***11:B:1*Y*A*Y*Y~" in text
    assert "HI*ABK:E119*ABF:I10~" in text
    assert "SV1*HC:99214*165*UN*1***1:2~" in text
    assert "NM1*PR*2*ACME HEALTH*****PI*ACME1~" in text
    assert f"NM1*82*1*{claim.rendering_provider.last_name.upper()}*DANA****XX*" in text
    assert "PRV*PE*PXC*207Q00000X~" in text
    assert f"REF*EI*{re.sub(r'[^0-9]', '', claim.billing_location.tax_id)}~" in text
    assert "SBR*P*18*******CI~" in text
    # SE01 counts ST through SE.
    ids = segment_ids(text)
    se = segments(text)[ids.index("SE")]
    assert int(se.split("*")[1]) == ids.index("SE") - ids.index("ST") + 1


def test_an_837_of_several_claims_payers_a_secondary_and_a_dependent_validates_with_zero_errors(
    billed_visit, practice, biller, service_codes
):
    # A second payer's patient; a child insured through her mother; and a visit whose primary
    # payer has paid, so its secondary claim carries the primary's adjudication.
    other_coverage = factories.CoverageFactory(
        payer=factories.PayerFactory(name="Blue Mesa", payer_id="BMESA", payer_type="medicaid")
    )
    child = factories.PatientFactory(first_name="Lily", last_name="Parent", sex_at_birth="F")
    child.date_of_birth = datetime.date(2016, 4, 2)
    child.save()
    family_coverage = factories.CoverageFactory(
        patient=child,
        payer=other_coverage.payer,
        relationship="19",
        subscriber_first_name="Mary",
        subscriber_last_name="Parent",
        subscriber_date_of_birth=datetime.date(1984, 2, 9),
        subscriber_sex="F",
        group_number="GRP-77",
    )
    secondary_payer = factories.PayerFactory(
        name="Medicare Part B", payer_id="MCRB1", payer_type="medicare"
    )
    factories.CoverageFactory(patient=billed_visit.patient, payer=secondary_payer, order=2)

    primary = ready_claim(billed_visit, biller)
    ready_claim(bill_visit(other_coverage, service_codes, biller), biller)
    dependent = ready_claim(bill_visit(family_coverage, service_codes, biller), biller)
    first = claims_export(acting_user=biller)
    assert first.claim_count == 3
    assert validate_837(first.content) == []
    text = first.content
    # The dependent: subscriber loop of the mother, patient loop (2000C) of the child.
    assert "NM1*IL*1*PARENT*MARY****MI*" in text
    assert "SBR*P**GRP-77******MC~" in text
    assert "PAT*19~" in text
    assert "NM1*QC*1*PARENT*LILY~" in text
    assert "DMG*D8*20160402*F~" in text
    assert f"CLM*{dependent.claim_number}*" in text
    # The primary claim names the known secondary payer (2320/2330B) for coordination.
    assert "SBR*S*18*******MB~" in text
    assert "NM1*PR*2*MEDICARE PART B*****PI*MCRB1~" in text
    assert "NM1*PR*2*BLUE MESA*****PI*BMESA~" in text
    # Each visit has its own location: 3 billing providers, 3 subscribers, 1 patient (2000C).
    assert segment_ids(text).count("HL") == 7

    primary.refresh_from_db()
    pay_primary(primary, biller, adjustments=[("CO", "45", Decimal("10.00"))])
    secondary = claim_secondary_create(acting_user=biller, primary=primary)
    assert secondary.payer == secondary_payer
    claim_mark_ready(acting_user=biller, claim=secondary)
    second = claims_export(acting_user=biller)
    assert second.claim_count == 1
    assert validate_837(second.content) == []
    text = second.content
    assert "SBR*S*18*******MB~" in text  # this claim goes to the secondary payer
    assert "SBR*P*18*******CI~" in text  # 2320: the primary payer...
    assert "AMT*D*160~" in text  # ...paid 155 + 5
    assert "NM1*PR*2*ACME HEALTH*****PI*ACME1~" in text
    assert "SVD*ACME1*155*HC:99214**1~" in text
    assert "SVD*ACME1*5*HC:36415**1~" in text
    assert segment_ids(text).count("CAS") == 2
    assert f"DTP*573*D8*{primary.date_of_service + datetime.timedelta(days=20):%Y%m%d}~" in text


def test_control_numbers_are_unique_and_increase_across_exports(
    billed_visit, practice, biller, service_codes
):
    ready_claim(billed_visit, biller)
    first = claims_export(acting_user=biller)
    ready_claim(bill_visit(factories.CoverageFactory(), service_codes, biller), biller)
    second = claims_export(acting_user=biller)
    assert second.interchange_control_number > first.interchange_control_number
    assert second.group_control_number > first.group_control_number
    for batch in (first, second):
        isa, gs = segments(batch.content)[:2]
        assert isa.split("*")[13] == f"{batch.interchange_control_number:09d}"
        assert gs.split("*")[6] == str(batch.group_control_number)
        assert segments(batch.content)[-1] == f"IEA*1*{batch.interchange_control_number:09d}"
        assert segments(batch.content)[-2] == f"GE*1*{batch.group_control_number}"
    assert ClaimBatch.objects.count() == 2


def test_export_marks_claims_submitted_and_records_the_batch(billed_visit, practice, biller):
    claim = ready_claim(billed_visit, biller)
    batch = claims_export(acting_user=biller)
    claim.refresh_from_db()
    assert claim.status == Status.SUBMITTED
    assert claim.batch == batch
    assert claim.first_submitted_at is not None
    change = claim.status_changes.last()
    assert (change.from_status, change.to_status, change.by) == ("ready", "submitted", biller)
    assert f"{batch.interchange_control_number:09d}" in change.note
    assert (batch.claim_count, batch.total_charge) == (1, Decimal("180.00"))
    assert list(batch.claims.all()) == [claim]
    assert batch.created_by == biller
    assert batch.skipped == []
    event = AuditEvent.objects.get(name="claims_export")
    assert event.detail["claims"] == [claim.claim_number]


def test_a_claim_that_fails_the_scrubber_is_not_exported(
    billed_visit, practice, biller, service_codes
):
    good = ready_claim(bill_visit(factories.CoverageFactory(), service_codes, biller), biller)
    stale = ready_claim(billed_visit, biller)
    # After it was marked ready, the coverage turns out to have ended before the visit.
    coverage = stale.coverage
    coverage.end_date = stale.date_of_service - datetime.timedelta(days=1)
    coverage.save()
    batch = claims_export(acting_user=biller)
    assert list(batch.claims.all()) == [good]
    assert [number for number, _problems in batch.skipped] == [stale.claim_number]
    assert "not active" in " ".join(batch.skipped[0][1])
    assert stale.claim_number not in batch.content
    stale.refresh_from_db()
    assert stale.status == Status.READY and stale.batch is None


def test_export_with_no_ready_claims_is_refused_clearly(billed_visit, practice, biller):
    claim_create(acting_user=biller, appointment=billed_visit)  # a draft is not sent
    with pytest.raises(ValidationError, match="no ready claims"):
        claims_export(acting_user=biller)
    assert not ClaimBatch.objects.exists()


def test_a_file_pyx12_rejects_submits_nothing(billed_visit, practice, biller, monkeypatch):
    claim = ready_claim(billed_visit, biller)
    write = services.claim837.claims_837
    monkeypatch.setattr(
        services.claim837,
        "claims_837",
        lambda **kwargs: write(**kwargs).replace("~SE*", "~SE*9", 1),
    )
    with pytest.raises(ValidationError, match="failed validation") as refused:
        claims_export(acting_user=biller)
    assert any("SE count" in message for message in refused.value.messages)
    claim.refresh_from_db()
    assert claim.status == Status.READY
    assert not ClaimBatch.objects.exists()


def test_names_and_addresses_cannot_break_the_file_structure(billed_visit, practice, biller):
    patient = billed_visit.patient
    patient.last_name = "O'Brien*Smith~"
    patient.first_name = "Zoë:^"
    patient.address_line1 = "12 Main St * Apt 4~B"
    patient.save()
    ready_claim(billed_visit, biller)
    batch = claims_export(acting_user=biller)
    assert validate_837(batch.content) == []
    assert "NM1*IL*1*O'BRIENSMITH*ZOE****MI*" in batch.content
    assert "N3*12 MAIN ST APT 4B~" in batch.content


def test_the_shared_sample_837_passes_the_validator_and_a_broken_copy_does_not():
    if not SAMPLE_837.exists():
        pytest.skip(f"The shared sample {SAMPLE_837} is not on this machine.")
    text = SAMPLE_837.read_text()
    assert validate_837(text) == []
    broken = text.replace("SE*40*", "SE*41*").replace("NM1*QC*1*SMITH*TED~", "NM1*QC*1~")
    problems = validate_837(broken)
    assert any("SE count" in problem for problem in problems)
    assert any("NM103" in problem for problem in problems)


# The command line


def test_the_claims_export_command_writes_the_file_and_reports_control_numbers(
    billed_visit, practice, biller, tmp_path, capsys
):
    claim = ready_claim(billed_visit, biller)
    target = tmp_path / "out.837"
    call_command(
        "claims", "export", "-o", str(target), "--payer", "acme1", "--user", biller.username
    )
    batch = ClaimBatch.objects.get()
    assert target.read_text() == batch.content
    assert validate_837(target.read_text()) == []
    output = capsys.readouterr().out
    assert "Exported 1 claim, total 180.00" in output
    assert f"{batch.interchange_control_number:09d}" in output
    assert f"group control number {batch.group_control_number}" in output
    claim.refresh_from_db()
    assert claim.status == Status.SUBMITTED
    assert batch.payer == claim.payer


def test_the_claims_export_command_refuses_bad_arguments_cleanly(
    billed_visit, practice, biller, tmp_path, monkeypatch
):
    target = tmp_path / "out.837"
    with pytest.raises(CommandError, match="no ready claims"):
        call_command("claims", "export", "-o", str(target))
    claim = ready_claim(billed_visit, biller)
    with pytest.raises(CommandError, match="no payer named 'Nobody'"):
        call_command("claims", "export", "-o", str(target), "--payer", "Nobody")
    with pytest.raises(CommandError, match="does not exist"):
        call_command("claims", "export", "-o", str(tmp_path / "missing" / "out.837"))
    with pytest.raises(CommandError, match="is a directory"):
        call_command("claims", "export", "-o", str(tmp_path))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "write_text", refuse)
    with pytest.raises(CommandError, match=r"cannot be written.*no claim was submitted"):
        call_command("claims", "export", "-o", str(target))
    claim.refresh_from_db()
    assert claim.status == Status.READY
    assert not ClaimBatch.objects.exists()
    assert not target.exists()


def test_the_export_reads_and_writes_a_batch_in_a_number_of_queries_that_does_not_grow_per_claim(
    practice, biller, service_codes
):
    def patient_with_two_coverages():
        coverage = factories.CoverageFactory()
        factories.CoverageFactory(patient=coverage.patient, order=2)
        return coverage

    def export_counting_queries() -> tuple[ClaimBatch, int]:
        with CaptureQueriesContext(connection) as queries:
            batch = claims_export(acting_user=biller)
        return batch, len(queries)

    # A first export (its sequences and lookups are created then) of two primary claims
    # whose patients have a secondary coverage; one primary payer pays by remittance, the
    # other by hand, so each batch below carries a secondary claim too.
    by_remittance, by_hand = (
        ready_claim(bill_visit(patient_with_two_coverages(), service_codes, biller), biller)
        for _ in range(2)
    )
    claims_export(acting_user=biller)
    by_remittance.refresh_from_db()
    by_hand.refresh_from_db()
    pay_primary(by_remittance, biller, adjustments=[("CO", "45", Decimal("10.00"))])
    claim_status_set(acting_user=biller, claim=by_hand, to_status=Status.PAID)

    def ready_batch(primary: Claim, fresh: int) -> None:
        secondary = claim_secondary_create(acting_user=biller, primary=primary)
        claim_mark_ready(acting_user=biller, claim=secondary)
        for _ in range(fresh):
            ready_claim(bill_visit(patient_with_two_coverages(), service_codes, biller), biller)

    ready_batch(by_remittance, fresh=1)
    small, small_queries = export_counting_queries()
    ready_batch(by_hand, fresh=9)
    large, large_queries = export_counting_queries()
    assert (small.claim_count, large.claim_count) == (2, 10)
    assert validate_837(large.content) == []
    assert large_queries == small_queries
    assert small_queries <= 35
    assert Claim.objects.filter(batch=large, status=Status.SUBMITTED).count() == 10
    assert ClaimStatusChange.objects.filter(to_status=Status.SUBMITTED).count() == 14
