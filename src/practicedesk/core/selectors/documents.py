"""Document reads, restricted to what the user's roles may see.

A document is visible to a role that may view documents, except:

- personnel, financial and patient documents need the role to see that area too
  (``TYPE_AREAS``): front desk never reads a salary letter just because it is a document;
- a document attached to a record needs the role to see that record's area: a letter
  attached to a patient is that patient's information.
"""

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, QuerySet

from practicedesk.core.models import AuditEvent, Document
from practicedesk.core.permissions import can
from practicedesk.core.roles import AREAS

TYPE_AREAS: dict[str, str] = {
    Document.Type.HR: "staff",
    Document.Type.FINANCIAL: "finance",
    Document.Type.PATIENT: "patients",
}

# Records that are not business records a document could belong to.
NOT_ATTACHABLE = (Document, AuditEvent)


def app_area(app_label: str) -> str:
    """The permission area of an app's records: the area named like the app, else
    administration (core's organization, locations and users)."""
    return app_label if app_label in AREAS else "administration"


def record_area(model: type[Model]) -> str:
    return app_area(model._meta.app_label)


def document_types_for_user(user) -> list[tuple[str, str]]:
    return [
        (value, label)
        for value, label in Document.Type.choices
        if value not in TYPE_AREAS or can(user, TYPE_AREAS[value], "view")
    ]


def _hidden_areas(user) -> set[str]:
    return {area for area in AREAS if not can(user, area, "view")}


def documents_for_user(user) -> QuerySet[Document]:
    queryset = Document.objects.select_related("owner", "attached_type").prefetch_related(
        "attached_to"
    )
    if not can(user, "documents", "view"):
        return queryset.none()
    hidden = _hidden_areas(user)
    hidden_types = [value for value, area in TYPE_AREAS.items() if area in hidden]
    if hidden_types:
        queryset = queryset.exclude(document_type__in=hidden_types)
    hidden_apps = [
        config.label for config in apps.get_app_configs() if app_area(config.label) in hidden
    ]
    if hidden_apps:
        queryset = queryset.exclude(attached_type__app_label__in=hidden_apps)
    return queryset


def document_attached_record(document: Document) -> Model | None:
    """The record a document is attached to; None if there is none or it no longer exists."""
    if not document.attached_type_id:
        return None
    try:
        return document.attached_to
    except (ObjectDoesNotExist, AttributeError, ValueError):
        return None


def attachment_target_for_user(user, attached_type: str | None, attached_id: str | None) -> Model:
    """The record named by a content type id and an object id, if this user may attach to it.

    Raises ``ValidationError`` saying what is wrong with the address: these come from a URL,
    so anything may arrive.
    """
    attached_type = (attached_type or "").strip()
    attached_id = (attached_id or "").strip()
    if not attached_type or not attached_id:
        raise ValidationError(
            "The link to attach a document names no record (it needs both attached_type and "
            "attached_id). Open the record and use its “Attach a document” button."
        )
    content_type = None
    if attached_type.isdigit():
        content_type = ContentType.objects.filter(pk=int(attached_type)).first()
    model = content_type.model_class() if content_type is not None else None
    if (
        model is None
        or not model.__module__.startswith("practicedesk.")
        or issubclass(model, NOT_ATTACHABLE)
        or not hasattr(model, "get_absolute_url")
    ):
        raise ValidationError(
            f"“{attached_type}” is not a kind of record documents can be attached to. "
            "Open the record and use its “Attach a document” button."
        )
    noun = str(model._meta.verbose_name)
    if not can(user, record_area(model), "view"):
        raise ValidationError(
            f"Your role may not open this {noun}, so you cannot attach documents to it."
        )
    queryset = model._default_manager.all()
    restrict = getattr(queryset, "restrict", None)
    if restrict is not None:
        queryset = restrict(user)
    try:
        return queryset.get(pk=model._meta.pk.to_python(attached_id))
    except (ObjectDoesNotExist, ValidationError, ValueError, TypeError):
        raise ValidationError(
            f"There is no {noun} with id “{attached_id}”; it may have been deleted."
        ) from None
