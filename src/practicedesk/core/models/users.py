from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.urls import reverse

from practicedesk.core.roles import ROLES_BY_NAME, all_permissions
from practicedesk.core.validators import phone_validator


class User(AbstractUser):
    """A person who signs in. Roles are groups; see ``core.roles``."""

    phone = models.CharField(max_length=30, blank=True, validators=[phone_validator])
    home_location = models.ForeignKey(
        "core.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    two_factor_exempt = models.BooleanField(
        "two-factor exempt",
        default=False,
        help_text=(
            "Demo users only: signs in without a second factor even where the role requires one."
        ),
    )
    digest_enabled = models.BooleanField("daily digest email", default=True)

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def get_absolute_url(self) -> str:
        return reverse("core:user_detail", args=[self.pk])

    @property
    def role_names(self) -> list[str]:
        return sorted(group.name for group in self.groups.all() if group.name in ROLES_BY_NAME)

    @property
    def role_requires_two_factor(self) -> bool:
        """Whether one of the user's roles asks for a second factor (the manager's policy)."""
        return self.groups.filter(policy__requires_two_factor=True).exists()


class RolePolicy(models.Model):
    """What the manager decides per role beyond its permissions: today, two-factor."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="policy")
    requires_two_factor = models.BooleanField(default=False)

    class Meta:
        ordering = ["group__name"]
        verbose_name_plural = "role policies"

    def __str__(self) -> str:
        return f"Policy of {self.group.name}"

    def get_absolute_url(self) -> str:
        return reverse("core:roles")


class AccessMatrix(models.Model):
    """Holds the area permissions of ``core.roles`` (no table: only its permissions exist)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = all_permissions()

    def __str__(self) -> str:
        return "Access matrix"
