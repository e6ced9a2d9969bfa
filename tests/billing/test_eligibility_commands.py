"""`practicedesk eligibility request|import` and the eligibility pages."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from practicedesk.billing.models import EligibilityCheck
from practicedesk.billing.x12.eligibility import validate_270
from practicedesk.scheduling.models import Appointment
from tests.billing import eligibility_files as files

ACTIVE = files.ACTIVE
answer = files.answer
make_271 = files.make_271
practice = files.practice
tomorrow = files.tomorrow

pytestmark = pytest.mark.django_db


def test_eligibility_request_writes_a_valid_270_for_tomorrows_appointments(
    tomorrow, tmp_path, capsys
):
    output = tmp_path / "tomorrow.270"
    call_command("eligibility", "request", "-o", str(output))
    assert validate_270(output.read_text()) == []
    assert EligibilityCheck.objects.count() == 2
    assert "2 inquiries" in capsys.readouterr().out


def test_eligibility_request_for_chosen_appointments_or_a_day(tomorrow, tmp_path):
    output = tmp_path / "one.270"
    call_command("eligibility", "request", "--appointments", str(tomorrow[0].pk), "-o", str(output))
    assert EligibilityCheck.objects.get().appointment == tomorrow[0]
    with pytest.raises(CommandError, match="No booked appointment"):
        day = (timezone.localdate() + datetime.timedelta(days=6)).isoformat()
        call_command("eligibility", "request", "--date", day, "-o", str(output))
    with pytest.raises(CommandError, match="No appointment with id 999999"):
        call_command("eligibility", "request", "--appointments", "999999", "-o", str(output))


def test_eligibility_import_records_the_answers(tomorrow, tmp_path, capsys):
    call_command("eligibility", "request", "-o", str(tmp_path / "out.270"))
    check = EligibilityCheck.objects.get(appointment=tomorrow[0])
    response = tmp_path / "in.271"
    response.write_text(make_271(answer(check.trace_number, "ACM0001", *ACTIVE)))
    call_command("eligibility", "import", str(response))
    out = capsys.readouterr().out
    assert "active, copay $25.00" in out and "1 recorded" in out
    check.refresh_from_db()
    assert check.status == EligibilityCheck.Status.ACTIVE


def test_eligibility_import_of_a_bad_file_fails_and_records_nothing(tomorrow, tmp_path):
    call_command("eligibility", "request", "-o", str(tmp_path / "out.270"))
    bad = tmp_path / "bad.271"
    bad.write_text("this is not a 271")
    with pytest.raises(CommandError, match="refused, nothing was recorded: This is not an X12"):
        call_command("eligibility", "import", str(bad))
    with pytest.raises(CommandError, match="Could not read"):
        call_command("eligibility", "import", str(tmp_path / "missing.271"))
    assert not EligibilityCheck.objects.exclude(status="requested").exists()


@pytest.fixture
def front_desk_client(client, make_user):
    client.force_login(make_user("front_desk", two_factor_exempt=True))
    return client


def test_the_front_desk_imports_a_271_and_sees_the_note(front_desk_client, tomorrow):
    front_desk_client.post(
        reverse("billing:eligibility_request"),
        {"day": timezone.localtime(tomorrow[0].start).date().isoformat()},
    )
    check = EligibilityCheck.objects.get(appointment=tomorrow[0])
    url = reverse("billing:eligibility_import")
    assert front_desk_client.get(url).status_code == 200
    upload = SimpleUploadedFile(
        "answer.271", make_271(answer(check.trace_number, "ACM0001", "EB*6**30")).encode()
    )
    response = front_desk_client.post(url, {"file": upload})
    assert response.status_code == 200
    assert response.context["result"].recorded == [check]
    assert b"INACTIVE" in response.content
    assert Appointment.objects.get(pk=tomorrow[0].pk).needs_attention
    listing = front_desk_client.get(reverse("billing:eligibility_list"), {"status": "inactive"})
    assert [row.pk for row in listing.context["table"].data] == [check.pk]


def test_a_bad_271_upload_shows_the_reason_at_the_field(front_desk_client, tomorrow):
    upload = SimpleUploadedFile("answer.271", b"ISA*00*short")
    response = front_desk_client.post(reverse("billing:eligibility_import"), {"file": upload})
    assert response.status_code == 200
    assert "not a readable X12 file" in response.context["form"].errors["file"][0]


def test_the_270_page_downloads_the_file(front_desk_client, tomorrow):
    day = timezone.localtime(tomorrow[0].start).date()
    assert front_desk_client.get(reverse("billing:eligibility_request")).status_code == 200
    response = front_desk_client.post(reverse("billing:eligibility_request"), {"day": day})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="eligibility-')
    assert validate_270(response.content.decode()) == []


def test_a_clinician_cannot_see_eligibility(client, make_user):
    client.force_login(make_user("clinician", two_factor_exempt=True))
    assert client.get(reverse("billing:eligibility_list")).status_code == 403
    assert client.get(reverse("billing:eligibility_import")).status_code == 403
