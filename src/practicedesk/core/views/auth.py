"""Sign-in, sign-out and the second factor (TOTP)."""

import base64
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from practicedesk.core.forms import TokenForm


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def throttled_message(why) -> str:
    """What to say when django-otp's throttling holds back a code after wrong ones."""
    until = (why or {}).get("locked_until")
    if until:
        wait = max(1, int((until - timezone.now()).total_seconds()))
        return f"Too many wrong codes. Wait {wait} seconds, then enter the code now showing."
    return "Too many wrong codes. Wait a moment, then enter the code now showing."


def safe_next(request, default="home"):
    target = request.GET.get("next") or request.POST.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


class TwoFactorSetupView(LoginRequiredMixin, View):
    """Enrol an authenticator app: show the secret as a QR code, confirm with a first code."""

    template_name = "registration/two_factor_setup.html"

    def unconfirmed_device(self, user) -> TOTPDevice:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        return device or TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)

    def render(self, request, device, form):
        qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#0b2545")
        secret = base64.b32encode(device.bin_key).decode().rstrip("=")
        context = {
            "form": form,
            "qr_svg": qr_svg,
            "secret": secret,
            "title": "Set up two-factor sign-in",
        }
        return render(request, self.template_name, context)

    def get(self, request):
        if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
            return redirect("two_factor_verify")
        return self.render(request, self.unconfirmed_device(request.user), TokenForm())

    def post(self, request):
        device = self.unconfirmed_device(request.user)
        form = TokenForm(request.POST)
        if form.is_valid():
            allowed, why = device.verify_is_allowed()
            if not allowed:
                form.add_error("token", throttled_message(why))
            elif device.verify_token(form.cleaned_data["token"]):
                with transaction.atomic():
                    device.confirmed = True
                    device.save()
                otp_login(request, device)
                messages.success(request, "Two-factor sign-in is set up.")
                return redirect("home")
            form.add_error(
                "token",
                "That code is not right. Check your phone's clock and try the code now showing.",
            )
        return self.render(request, device, form)


class TwoFactorVerifyView(LoginRequiredMixin, View):
    template_name = "registration/two_factor_verify.html"

    def get(self, request):
        return render(
            request,
            self.template_name,
            {"form": TokenForm(), "title": "Two-factor code", "next": safe_next(request, "")},
        )

    def post(self, request):
        form = TokenForm(request.POST)
        if form.is_valid():
            for device in TOTPDevice.objects.filter(user=request.user, confirmed=True):
                if device.verify_token(form.cleaned_data["token"]):
                    otp_login(request, device)
                    return redirect(safe_next(request))
            form.add_error(
                "token",
                "That code is not right, or it has expired. Enter the code "
                "now showing in your authenticator app.",
            )
        query = urlencode({"next": safe_next(request, "")})
        return render(
            request, self.template_name, {"form": form, "title": "Two-factor code", "next": query}
        )
