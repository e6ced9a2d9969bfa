from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse

from practicedesk.core.validators import phone_validator, validate_npi, validate_tax_id

state_validator = RegexValidator(r"^[A-Z]{2}$", "Use the two-letter state code, for example NY.")
zip_validator = RegexValidator(r"^\d{5}(-\d{4})?$", "Use a 5-digit ZIP code or ZIP+4 (12345-6789).")


class Address(models.Model):
    address_line1 = models.CharField("address", max_length=120)
    address_line2 = models.CharField("address line 2", max_length=120, blank=True)
    city = models.CharField(max_length=80)
    state = models.CharField(max_length=2, validators=[state_validator])
    postal_code = models.CharField("ZIP code", max_length=10, validators=[zip_validator])

    class Meta:
        abstract = True

    @property
    def address_lines(self) -> list[str]:
        lines = [
            self.address_line1,
            self.address_line2,
            f"{self.city}, {self.state} {self.postal_code}",
        ]
        return [line for line in lines if line.strip(", ")]


class Organization(Address):
    """The practice itself. One install serves one organization (enforced by a constraint)."""

    singleton = models.PositiveSmallIntegerField(default=1, unique=True, editable=False)
    name = models.CharField(max_length=160)
    legal_name = models.CharField(max_length=160, blank=True)
    tax_id = models.CharField("tax id (EIN)", max_length=10, validators=[validate_tax_id])
    npi = models.CharField("group NPI", max_length=10, blank=True, validators=[validate_npi])
    phone = models.CharField(max_length=30, validators=[phone_validator])
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(singleton=1), name="one_organization")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("core:organization")


class Location(Address):
    """A clinic site of the practice. Kept for history: deleting one archives it."""

    archive_on_delete = True

    code = models.SlugField(max_length=20, unique=True, help_text="Short code, e.g. MAIN.")
    name = models.CharField(max_length=120, unique=True)
    phone = models.CharField(max_length=30, validators=[phone_validator])
    fax = models.CharField(max_length=30, blank=True, validators=[phone_validator])
    npi = models.CharField(
        "NPI",
        max_length=10,
        blank=True,
        validators=[validate_npi],
        help_text="Type 2 NPI of the site, if it has its own.",
    )
    tax_id = models.CharField("tax id (EIN)", max_length=10, validators=[validate_tax_id])
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("core:location_detail", args=[self.pk])
