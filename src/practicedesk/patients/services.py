"""Patient registry actions: register, update, consents, alerts, coverage, merge."""

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from practicedesk.core.models import AuditEvent, User
from practicedesk.core.services import audit_event_record, sequence_next
from practicedesk.patients.models import ConsentEvent, Coverage, Patient, PatientAlert

MRN_SEQUENCE = "patient_mrn"
CONSENT_FIELDS = {
    ConsentEvent.Kind.REMINDER_EMAIL: "reminder_email_consent",
    ConsentEvent.Kind.MARKETING_EMAIL: "marketing_email_consent",
}


def mrn_format(number: int) -> str:
    return f"{number:08d}"


def mrns_reserve(count: int) -> list[str]:
    """Reserve ``count`` consecutive MRNs (bulk imports and demo data)."""
    first = sequence_next(MRN_SEQUENCE, count=count)
    return [mrn_format(first + offset) for offset in range(count)]


@transaction.atomic
def patient_register(*, acting_user: User | None, patient: Patient) -> Patient:
    """Give a new patient the next MRN and save it, with its consents on record."""
    if patient.pk is not None:
        raise ValidationError("This patient is already registered.")
    patient.mrn = mrns_reserve(1)[0]
    patient.full_clean()
    patient.save()
    for kind, field in CONSENT_FIELDS.items():
        if getattr(patient, field):
            ConsentEvent.objects.create(
                patient=patient, kind=kind, given=True, recorded_by=acting_user
            )
    audit_event_record(
        action=AuditEvent.Action.ACTION, user=acting_user, obj=patient, name="patient_register"
    )
    return patient


@transaction.atomic
def patient_update(*, acting_user: User | None, patient: Patient) -> Patient:
    """Save changes to a patient; a changed consent is recorded with its date."""
    before = Patient.objects.select_for_update().get(pk=patient.pk)
    if before.status == Patient.Status.MERGED:
        raise ValidationError("This record was merged into another one and cannot be changed.")
    patient.full_clean()
    patient.save()
    for kind, field in CONSENT_FIELDS.items():
        if getattr(before, field) != getattr(patient, field):
            ConsentEvent.objects.create(
                patient=patient, kind=kind, given=getattr(patient, field), recorded_by=acting_user
            )
    return patient


@transaction.atomic
def patient_alert_add(
    *,
    acting_user: User | None,
    patient: Patient,
    kind: str,
    text: str = "",
    severity: str = PatientAlert.Severity.WARNING,
) -> PatientAlert:
    """Add an alert unless the same kind is already active (idempotent for system alerts)."""
    existing = patient.alerts.filter(kind=kind, is_active=True).first()
    if existing is not None:
        return existing
    alert = PatientAlert(
        patient=patient, kind=kind, text=text, severity=severity, created_by=acting_user
    )
    alert.full_clean()
    alert.save()
    return alert


@transaction.atomic
def patient_alert_resolve(*, acting_user: User, alert: PatientAlert) -> PatientAlert:
    alert.is_active = False
    alert.resolved_at = timezone.now()
    alert.save(update_fields=["is_active", "resolved_at"])
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=alert.patient,
        name="patient_alert_resolve",
        detail={"alert": str(alert)},
    )
    return alert


@transaction.atomic
def coverage_save(*, acting_user: User | None, coverage: Coverage) -> Coverage:
    """Add or change a patient's insurance coverage (checked by the model's rules)."""
    patient = Patient.objects.select_for_update().get(pk=coverage.patient_id)
    if patient.status == Patient.Status.MERGED:
        raise ValidationError(
            "This record was merged into another one; add the coverage to that record."
        )
    coverage.full_clean()
    coverage.save()
    return coverage


# Links that record what happened to a patient's record rather than belong to it: a merge
# leaves them pointing where they pointed.
MERGE_SKIPPED_MODELS = frozenset({"core.auditevent", "auditlog.logentry"})


@dataclass(frozen=True)
class MergeLink:
    """One way rows of some model point at a patient: a foreign key (of a model, or of the
    link table of a many-to-many field) or a generic relation."""

    label: str
    model: type[models.Model]
    pointer: dict[str, str]
    unique_sets: tuple[tuple[str, ...], ...] = ()
    one_to_one: bool = False

    @property
    def noun(self) -> str:
        return str(self.model._meta.verbose_name)

    def filter_for(self, patient: Patient) -> dict[str, Any]:
        return {
            name: (patient.pk if value == "pk" else ContentType.objects.get_for_model(Patient))
            for name, value in self.pointer.items()
        }

    def rows(self, patient: Patient) -> models.QuerySet:
        return self.model._base_manager.filter(**self.filter_for(patient))


def _unique_sets(model: type[models.Model], field_name: str) -> tuple[tuple[str, ...], ...]:
    """The unique field sets of ``model`` that include ``field_name``."""
    sets = [tuple(fields) for fields in model._meta.unique_together if field_name in fields]
    sets += [
        tuple(constraint.fields)
        for constraint in model._meta.total_unique_constraints
        if field_name in constraint.fields
    ]
    return tuple(sets)


def patient_merge_links() -> list[MergeLink]:
    """Every way an installed model points at a patient, read from the model registry, so a
    model that an app adds later is moved by a merge without a change here.

    Hidden relations count too (``related_name="+"`` and the link tables of many-to-many
    fields), which ``Patient._meta.related_objects`` alone would miss.
    """
    links: list[MergeLink] = []
    for relation in Patient._meta.get_fields(include_hidden=True):
        if not (relation.is_relation and relation.auto_created and not relation.concrete):
            continue
        if relation.many_to_many:
            continue  # its link table's foreign key is a relation of its own, handled below
        model = relation.related_model
        if model._meta.label_lower in MERGE_SKIPPED_MODELS:
            continue
        field = relation.field
        links.append(
            MergeLink(
                label=f"{model._meta.label_lower}.{field.name}",
                model=model,
                pointer={field.name: "pk"},
                unique_sets=_unique_sets(model, field.name),
                one_to_one=relation.one_to_one,
            )
        )
    for model in apps.get_models(include_auto_created=True):
        if model._meta.label_lower in MERGE_SKIPPED_MODELS:
            continue
        for generic in model._meta.private_fields:
            if isinstance(generic, GenericForeignKey):
                links.append(
                    MergeLink(
                        label=f"{model._meta.label_lower}.{generic.name}",
                        model=model,
                        pointer={generic.ct_field: "type", generic.fk_field: "pk"},
                    )
                )
    return sorted(links, key=lambda link: link.label)


def patient_merge_preview(*, source: Patient) -> dict[str, int]:
    """How many rows of each kind would move away from ``source`` (kinds with rows only)."""
    counts = {}
    for link in patient_merge_links():
        count = link.rows(source).count()
        if count:
            counts[link.label] = count
    return counts


def patient_merge_refusal(*, source: Patient, target: Patient) -> str | None:
    """Why these two records cannot be merged, in a sentence; None when they can."""
    if source.pk == target.pk:
        return "A patient cannot be merged into itself."
    if source.status == Patient.Status.MERGED:
        return f"{source} was already merged into another record."
    if target.status == Patient.Status.MERGED:
        return f"{target} was merged into another record; merge into that record instead."
    if target.guarantor_id == source.pk:
        return (
            f"{source} is the guarantor of {target}; change {target}'s guarantor before "
            "merging, or merge the other way round."
        )
    return None


def _merge_conflict(link: MergeLink, source: Patient, target: Patient) -> str | None:
    """Why moving this link's rows would break a one-to-one or unique rule, if it would."""
    if not link.rows(source).exists():
        return None
    if link.one_to_one:
        if link.rows(target).exists():
            return f"both records have a {link.noun}, and a patient may have only one"
        return None
    for fields in link.unique_sets:
        others = [name for name in fields if name not in link.pointer]
        if not others:
            if link.rows(target).exists():
                return f"both records have a {link.noun}, and a patient may have only one"
            continue
        on_source = set(link.rows(source).values_list(*others))
        on_target = set(link.rows(target).values_list(*others))
        if on_source & on_target:
            return (
                f"both records have a {link.noun} with the same {', '.join(others)}, "
                "which a patient may have only once"
            )
    return None


@transaction.atomic
def patient_merge(*, acting_user: User | None, source: Patient, target: Patient) -> dict[str, int]:
    """Move every record of ``source`` to ``target`` and keep ``source`` as a merged record.

    Both patient rows are locked first (in id order, so two merges never deadlock). Every row
    that points at ``source`` -- by a foreign key or many-to-many link of any installed app,
    or a generic relation such as an attached document -- is moved; the target's own fields
    are kept. Rows are counted before and after each move, and any difference undoes the whole
    merge, so a merge cannot lose a row. Returns the number of rows moved per relation.
    """
    locked = {
        patient.pk: patient
        for patient in Patient.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    if source.pk not in locked or target.pk not in locked:
        raise ValidationError("One of the two patient records no longer exists.")
    source, target = locked[source.pk], locked[target.pk]
    refusal = patient_merge_refusal(source=source, target=target)
    if refusal:
        raise ValidationError(refusal)
    links = patient_merge_links()
    conflicts = [
        f"{link.label}: {conflict}"
        for link in links
        if (conflict := _merge_conflict(link, source, target))
    ]
    if conflicts:
        raise ValidationError(
            "These records cannot be merged yet: "
            + "; ".join(conflicts)
            + ". Resolve this first; nothing was moved."
        )
    moved: dict[str, int] = {}
    moved_ids: dict[str, list] = {}
    for link in links:
        ids = list(link.rows(source).order_by("pk").values_list("pk", flat=True))
        if not ids:
            continue
        on_target = link.rows(target).count()
        try:
            with transaction.atomic():
                updated = link.rows(source).update(**link.filter_for(target))
        except IntegrityError as error:
            raise ValidationError(
                f"Moving the {link.model._meta.verbose_name_plural} ({link.label}) breaks a "
                f"rule of the database ({error}); nothing was moved."
            ) from error
        if (
            updated != len(ids)
            or link.rows(source).exists()
            or link.rows(target).count() != on_target + len(ids)
        ):
            raise ValidationError(
                f"Merging would not keep every {link.noun} ({link.label}); nothing was changed."
            )
        moved[link.label] = len(ids)
        moved_ids[link.label] = [str(pk) for pk in ids]
    # The source row stays, so an old MRN on paper still leads to the right record.
    source.status = Patient.Status.MERGED
    source.merged_into = target
    source.save(update_fields=["status", "merged_into", "updated_at"])
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=target,
        name="patient_merge",
        detail={
            "source": {"id": source.pk, "mrn": source.mrn},
            "target": {"id": target.pk, "mrn": target.mrn},
            "moved": moved,
            "moved_ids": moved_ids,
        },
    )
    return moved
