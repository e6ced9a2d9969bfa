"""Patient reads: the one search box, likely duplicates, and everything a patient's page shows.

Searches use the normalised, indexed columns the model keeps (``search_name``,
``phone_digits``, ``date_of_birth``, ``mrn``) and prefix matches where they can, so the answer
stays immediate at tens of thousands of patients.
"""

import datetime
import difflib
import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.functions import Collate
from django.db.models.lookups import StartsWith
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch
from django.utils import timezone

from practicedesk.patients.models import (
    ConsentEvent,
    Coverage,
    Patient,
    PatientAlert,
    digits_only,
)

DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")
PHONE_PUNCTUATION = re.compile(r"[\s().+-]")
# A name this similar (difflib's ratio, 0..1) to one with the same date of birth is shown as a
# likely duplicate before a new patient is saved.
NAME_SIMILARITY = 0.8
MAX_DUPLICATES = 10


def date_parse(text: str) -> datetime.date | None:
    """A date written YYYY-MM-DD or MM/DD/YYYY (the forms the front desk types), else None."""
    for pattern in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


def phone_key(value: str) -> str:
    """The last ten digits of a phone number, as ``Patient.phone_digits`` stores them."""
    digits = digits_only(value)
    return digits[-10:] if len(digits) >= 10 else digits


def name_sort_key() -> F | Collate:
    """The order of the patient list by name, and what a name prefix is matched on: the
    normalised ``search_name`` ("last first middle preferred", lower case).

    On PostgreSQL it is compared byte by byte (collation "C"), the order of the index migration
    0003 adds, so one index range both finds a prefix and returns it in order: a page of "tho"
    reads its 25 rows instead of walking the (last_name, first_name) index past every earlier
    name. SQLite's default collation already compares bytes.
    """
    if connection.vendor == "postgresql":
        return Collate(F("search_name"), "C")
    return F("search_name")


def patients_by_name(queryset: QuerySet, *, descending: bool = False) -> QuerySet:
    """Patients in name order (see ``name_sort_key``), the id settling equal names so pages
    never overlap."""
    key = name_sort_key()
    if descending:
        return queryset.order_by(key.desc(), "-pk")
    return queryset.order_by(key.asc(), "pk")


def _name_prefix(prefix: str) -> Q:
    if connection.vendor == "postgresql":
        return Q(StartsWith(name_sort_key(), prefix))
    # SQLite's LIKE cannot use the index on a case-sensitive column; the equivalent range on
    # the lower-cased column can.
    return Q(search_name__startswith=prefix) & Q(
        search_name__gte=prefix, search_name__lt=prefix + "\uffff"
    )


def _name_word(word: str) -> Q:
    """A word that starts any of the names (PostgreSQL reads the second half through its
    trigram index on ``search_name``)."""
    return _name_prefix(word) | Q(search_name__contains=f" {word}")


def _name_condition(words: list[str], queryset: QuerySet) -> Q:
    """Last name first ("smi", "smith jo", "smith, john") through the index; when that
    finds nobody, every word may start any name ("john smith", "jo")."""
    if not words:
        return Q()
    prefix = _name_prefix(words[0])
    for word in words[1:]:
        prefix &= Q(search_name__contains=f" {word}")
    if queryset.filter(prefix).exists():
        return prefix
    anywhere = Q()
    for word in words:
        anywhere &= _name_word(word)
    return anywhere


def _mrn_condition(digits: str, raw: str) -> Q:
    """An MRN as typed, or its number without the leading zeros."""
    from practicedesk.patients.services import mrn_format

    condition = Q(mrn=raw.upper()) | Q(mrn=digits)
    if digits and len(digits) <= 8:
        condition |= Q(mrn=mrn_format(int(digits)))
    return condition


def _phone_condition(digits: str) -> Q:
    """A phone number, whole or its start; the second phone of a patient counts too (a home
    phone is often shared by a family)."""
    phone = digits[-10:] if len(digits) > 10 else digits
    if len(phone) < 3:
        return Q(pk__in=[])
    return Q(phone_digits__startswith=phone) | Q(phone_digits__contains=f" {phone}")


def search_kind(query: str) -> str:
    """What the one search box was given: "number" (MRN or phone), "date", "name" or ""."""
    query = (query or "").strip()
    if not query:
        return ""
    if date_parse(query):
        return "date"
    compact = PHONE_PUNCTUATION.sub("", query)
    if compact.isdigit() or re.fullmatch(r"[A-Za-z]?\d{3,}", compact):
        return "number"
    return "name"


def patient_search(query: str, queryset: QuerySet | None = None) -> QuerySet:
    """Patients matching one search box: a name fragment ("smi", "smith jo"), a date of birth
    (YYYY-MM-DD or MM/DD/YYYY), an MRN, or a phone number (any punctuation), or a name and a
    date of birth together ("smith 1980-05-17")."""
    queryset = Patient.objects.all() if queryset is None else queryset
    query = (query or "").strip()
    kind = search_kind(query)
    if kind == "":
        return queryset
    if kind == "date":
        return queryset.filter(date_of_birth=date_parse(query))
    if kind == "number":
        compact = PHONE_PUNCTUATION.sub("", query)
        digits = digits_only(compact)
        if len(digits) >= 10:
            return queryset.filter(_phone_condition(digits))
        # A whole MRN as printed (leading zeros, or a letter prefix) is looked up through its
        # unique index alone; a shorter number may be an MRN or the start of a phone number.
        mrn = _mrn_condition(digits, compact)
        if not compact.isdigit() or (len(digits) == 8 and digits.startswith("0")):
            return queryset.filter(mrn)
        return queryset.filter(mrn | _phone_condition(digits))
    words = []
    condition = Q()
    for token in query.lower().replace(",", " ").split():
        born = date_parse(token)
        if born:
            condition &= Q(date_of_birth=born)
        else:
            words.append(token)
    if condition:
        queryset = queryset.filter(condition)
    return queryset.filter(_name_condition(words, queryset))


def _soundex(name: str) -> str:
    letters = re.sub(r"[^a-z]", "", name.lower())
    if not letters:
        return ""
    codes = {
        c: str(d)
        for d, group in enumerate(("aeiouyhw", "bfpv", "cgjkqsxz", "dt", "l", "mn", "r"))
        for c in group
    }
    result, last = letters[0].upper(), codes.get(letters[0], "")
    for char in letters[1:]:
        code = codes.get(char, "")
        if code and code != "0" and code != last:
            result += code
        if char not in "hw":
            last = code
    return (result + "000")[:4]


def names_similar(first_a: str, last_a: str, first_b: str, last_b: str) -> bool:
    """Whether two names could be the same person's: a close spelling (difflib), the same
    sounding last name with the same first initial, or first and last names swapped."""
    a = f"{last_a} {first_a}".lower().strip()
    b = f"{last_b} {first_b}".lower().strip()
    swapped = f"{first_b} {last_b}".lower().strip()
    if (
        max(
            difflib.SequenceMatcher(None, a, b).ratio(),
            difflib.SequenceMatcher(None, a, swapped).ratio(),
        )
        >= NAME_SIMILARITY
    ):
        return True
    return (
        bool(first_a and first_b)
        and first_a[0].lower() == first_b[0].lower()
        and _soundex(last_a) == _soundex(last_b) != ""
    )


@dataclass
class LikelyDuplicate:
    patient: Patient
    reasons: list[str] = field(default_factory=list)


def likely_duplicates(
    first_name: str,
    last_name: str,
    date_of_birth: datetime.date | None,
    phones: list[str] | tuple[str, ...] = (),
    *,
    exclude_pk: int | None = None,
) -> list[LikelyDuplicate]:
    """Registered patients who are probably this person: the same date of birth and a similar
    name, or the same phone number. Merged records are left out (their survivor is found)."""
    candidates = Patient.objects.active()
    if exclude_pk is not None:
        candidates = candidates.exclude(pk=exclude_pk)
    found: dict[int, LikelyDuplicate] = {}
    if date_of_birth:
        # Few people share a birthday, so comparing names in Python stays cheap.
        for patient in candidates.filter(date_of_birth=date_of_birth)[:200]:
            if names_similar(first_name, last_name, patient.first_name, patient.last_name):
                found.setdefault(patient.pk, LikelyDuplicate(patient)).reasons.append(
                    "same date of birth and a similar name"
                )
    keys = {phone_key(phone) for phone in phones if len(phone_key(phone)) == 10}
    if keys:
        condition = Q()
        for key in keys:
            condition |= Q(phone_digits__startswith=key) | Q(phone_digits__endswith=f" {key}")
        for patient in candidates.filter(condition)[:MAX_DUPLICATES]:
            found.setdefault(patient.pk, LikelyDuplicate(patient)).reasons.append(
                "same phone number"
            )
    return sorted(found.values(), key=lambda d: (-len(d.reasons), d.patient.last_name))[
        :MAX_DUPLICATES
    ]


def patients_for_user(user) -> QuerySet:
    return Patient.objects.restrict(user)


def patient_for_user(user, pk) -> Patient:
    """The patient with this id, if this user may see it (404 otherwise)."""
    return get_object_or_404(patients_for_user(user).select_related("merged_into"), pk=pk)


def active_alerts_prefetch() -> Prefetch:
    """Prefetch a patient's active alerts as ``active_alerts`` (what the banner shows)."""
    return Prefetch(
        "alerts",
        queryset=PatientAlert.objects.filter(is_active=True).order_by("-created_at"),
        to_attr="active_alerts",
    )


def patient_alerts_active(patient: Patient) -> list[PatientAlert]:
    prefetched = getattr(patient, "active_alerts", None)
    if prefetched is not None:
        return prefetched
    return list(patient.alerts.filter(is_active=True).order_by("-created_at"))


def _url_or_none(obj) -> str | None:
    try:
        return obj.get_absolute_url()
    except NoReverseMatch:
        return None


def patient_appointments(patient: Patient, *, limit: int = 10) -> dict[str, list]:
    """Upcoming and recent visits, read through the reverse relation so this lower app
    never imports scheduling."""
    related = getattr(patient, "appointments", None)
    if related is None:
        return {"upcoming": [], "past": []}
    now = timezone.now()
    base = related.select_related("provider", "location", "appointment_type")
    upcoming = list(base.filter(start__gte=now).order_by("start")[:limit])
    past = list(base.filter(start__lt=now).order_by("-start")[:limit])
    return {
        "upcoming": [(appointment, _url_or_none(appointment)) for appointment in upcoming],
        "past": [(appointment, _url_or_none(appointment)) for appointment in past],
    }


def patient_detail(patient: Patient) -> dict:
    """Everything the patient's page shows besides the record itself, in a fixed number of
    queries however many coverages, alerts, consents or visits the patient has."""
    today = timezone.localdate()
    coverages = list(
        Coverage.objects.filter(patient=patient)
        .select_related("payer")
        .order_by("order", "-effective_date")
    )
    alerts = list(patient.alerts.select_related("created_by").order_by("-is_active", "-created_at"))
    return {
        "coverages": [(coverage, coverage.is_active_on(today)) for coverage in coverages],
        "alerts_active": [alert for alert in alerts if alert.is_active],
        "alerts_resolved": [alert for alert in alerts if not alert.is_active],
        "consent_events": list(
            ConsentEvent.objects.filter(patient=patient).select_related("recorded_by")
        ),
        "dependants": list(patient.dependants.order_by("last_name", "first_name")),
        "merged_from": list(patient.merged_from.order_by("mrn")),
        **patient_appointments(patient),
    }
