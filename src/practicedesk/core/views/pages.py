"""Organization, locations, users and the home page."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView

from practicedesk.core.filters import LocationFilterSet, UserFilterSet
from practicedesk.core.forms import LocationForm, OrganizationForm, UserForm
from practicedesk.core.models import Location, Organization, User
from practicedesk.core.navigation import menu_for
from practicedesk.core.permissions import can
from practicedesk.core.services import user_requires_two_factor, user_roles_set
from practicedesk.core.tables import LocationTable, UserTable
from practicedesk.core.views.generic import (
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
)


class HomeView(LoginRequiredMixin, TemplateView):
    """The manager's dashboard is everyone's home page; a user whose role cannot open it (or
    who has no role yet) sees the areas open to them instead."""

    template_name = "core/home.html"

    def get(self, request, *args, **kwargs):
        if can(request.user, "dashboard", "view"):
            return redirect("dashboard:index")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["organization"] = Organization.objects.first()
        context["sections"] = menu_for(user)
        context["two_factor_required"] = user_requires_two_factor(user)
        return context


class OrganizationView(ObjectDetailView):
    area = "administration"
    model = Organization
    edit_url_name = "core:organization_edit"

    def get_object(self, queryset=None):
        return get_object_or_404(Organization)

    def get_edit_url(self):
        return reverse("core:organization_edit")


class OrganizationEditView(ObjectEditView):
    area = "administration"
    model = Organization
    form_class = OrganizationForm

    def get_object(self):
        return Organization.objects.first()


class LocationListView(ObjectListView):
    area = "administration"
    model = Location
    table_class = LocationTable
    filterset_class = LocationFilterSet
    create_url_name = "core:location_create"


class LocationDetailView(ObjectDetailView):
    area = "administration"
    model = Location
    edit_url_name = "core:location_edit"
    delete_url_name = "core:location_delete"


class LocationEditView(ObjectEditView):
    area = "administration"
    model = Location
    form_class = LocationForm


class LocationDeleteView(ObjectDeleteView):
    area = "administration"
    model = Location
    success_url_name = "core:location_list"


class UserListView(ObjectListView):
    area = "administration"
    queryset = User.objects.prefetch_related("groups")
    table_class = UserTable
    filterset_class = UserFilterSet
    create_url_name = "core:user_create"


class UserDetailView(ObjectDetailView):
    area = "administration"
    queryset = User.objects.prefetch_related("groups")
    fields = (
        "username",
        "first_name",
        "last_name",
        "email",
        "phone",
        "home_location",
        "is_active",
        "two_factor_exempt",
        "digest_enabled",
        "last_login",
        "date_joined",
    )
    edit_url_name = "core:user_edit"

    def get_fields(self):
        rows = super().get_fields()
        rows.insert(3, ("Roles", ", ".join(self.object.role_names) or "—"))
        return rows


class UserEditView(ObjectEditView):
    area = "administration"
    model = User
    form_class = UserForm

    def save(self, form):
        with transaction.atomic():
            user = form.save(commit=False)
            if form.cleaned_data.get("password"):
                user.set_password(form.cleaned_data["password"])
            user.save()
            user_roles_set(
                acting_user=self.request.user, user=user, role_groups=form.cleaned_data["roles"]
            )
        return user
