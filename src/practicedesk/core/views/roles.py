"""The Roles page: the declared matrix of role × area × action, and the two-factor policy."""

from django.contrib import messages
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.views.generic import TemplateView

from practicedesk.core.forms import TwoFactorPolicyForm
from practicedesk.core.models import RolePolicy
from practicedesk.core.permissions import can
from practicedesk.core.roles import ACTIONS, AREAS, ROLES
from practicedesk.core.services import role_two_factor_set
from practicedesk.core.views.generic import AreaPermissionMixin


class RolesView(AreaPermissionMixin, TemplateView):
    area = "administration"
    template_name = "core/roles.html"

    def policies(self):
        return RolePolicy.objects.select_related("group").filter(
            group__name__in=[role.name for role in ROLES]
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = "Roles"
        context["actions"] = ACTIONS
        context["matrix"] = [
            {
                "area": label,
                "rows": [
                    {"role": role, "cells": [role.allows(area, action) for action in ACTIONS]}
                    for role in ROLES
                ],
            }
            for area, label in AREAS.items()
        ]
        context["roles"] = ROLES
        context["form"] = kwargs.get("form") or TwoFactorPolicyForm(policies=self.policies())
        context["can_change"] = can(self.request.user, "administration", "change")
        return context

    def post(self, request):
        if not can(request.user, "administration", "change"):
            raise PermissionDenied("Only a practice manager changes the two-factor policy.")
        policies = list(self.policies())
        form = TwoFactorPolicyForm(request.POST, policies=policies)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        for policy in policies:
            required = form.cleaned_data[f"role_{policy.group_id}"]
            if required != policy.requires_two_factor:
                role_two_factor_set(
                    acting_user=request.user,
                    group=Group.objects.get(pk=policy.group_id),
                    required=required,
                )
        messages.success(request, "Two-factor policy saved.")
        return redirect("core:roles")
