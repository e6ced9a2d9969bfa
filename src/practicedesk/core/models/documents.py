from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse


def document_upload_to(instance: "Document", filename: str) -> str:
    return f"documents/{instance.sha256[:2]}/{instance.sha256}/{filename}"


class Document(models.Model):
    """A business document (contract, invoice, policy, license...) kept with a retention date.

    Documents may hold protected health information, so every view of one is audited.
    """

    audit_reads = True

    class Type(models.TextChoices):
        CONTRACT = "contract", "Contract or agreement"
        INVOICE = "invoice", "Invoice or receipt"
        POLICY = "policy", "Policy or procedure"
        LICENSE = "license", "License, permit or certificate"
        INSURANCE = "insurance", "Insurance"
        CORRESPONDENCE = "correspondence", "Correspondence"
        FINANCIAL = "financial", "Financial statement or report"
        HR = "hr", "Personnel record"
        PATIENT = "patient", "Patient document"
        OTHER = "other", "Other"

    title = models.CharField(max_length=200)
    document_type = models.CharField("type", max_length=20, choices=Type.choices)
    file = models.FileField(upload_to=document_upload_to, max_length=300)
    original_name = models.CharField(max_length=255)
    content_type_name = models.CharField("file type", max_length=100)
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField("SHA-256 checksum", max_length=64, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_documents",
        help_text="Who answers for this document.",
    )
    retain_until = models.DateField(help_text="Keep at least until this date.")
    notes = models.TextField(blank=True)
    attached_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attached_id = models.CharField(max_length=64, blank=True)
    attached_to = GenericForeignKey("attached_type", "attached_id")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        indexes = [
            models.Index(fields=["attached_type", "attached_id"]),
            models.Index(fields=["document_type", "retain_until"]),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("core:document_detail", args=[self.pk])
