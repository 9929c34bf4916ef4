"""The practice admin's pages: the practice's users (add, change, deactivate, reactivate,
reset a password) and the practice's settings; and the page where a user chooses their
own password after a one-time one. Every change goes through ccm.services (audited);
another practice's user is a 404.

A one-time password is shown once, in the answer to the POST that made it (never in a
URL, never stored in clear, and the answer is not cached: ccm.middleware)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ccm import selectors, services
from ccm.capabilities import Capability as C
from ccm.capabilities import roles_with
from ccm.exceptions import LastAdmin
from ccm.forms import (
    PracticeSettingsForm,
    UserCreateForm,
    UserFieldsForm,
    apply_service_errors,
    user_initial,
)
from ccm.models import Practice, Role, User
from ccm.views import role_required

USER_MANAGERS = roles_with(C.MANAGE_USERS)
SETTINGS_EDITORS = roles_with(C.EDIT_PRACTICE_SETTINGS)
LIST_FILTERS = (("active", "Active"), ("inactive", "Inactive"), ("all", "All"))


def _admin(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


def _practice(request: HttpRequest) -> Practice:
    practice: Practice = _admin(request).practice  # type: ignore[assignment]
    return practice


def _user_url(user: User) -> str:
    return reverse("practice-user", args=[user.pk])


@role_required(USER_MANAGERS)
def user_list(request: HttpRequest) -> HttpResponse:
    """The practice's users with their role, credential and NPI; active by default."""
    shown = request.GET.get("show", "active")
    if shown not in dict(LIST_FILTERS):
        shown = "active"
    users = selectors.practice_users(
        practice=_practice(request),
        is_active={"active": True, "inactive": False}.get(shown),
    )
    return render(
        request,
        "ccm/user_list.html",
        {"users": users, "shown": shown, "filters": LIST_FILTERS},
    )


def _issued(request: HttpRequest, issued: services.IssuedPassword, *, new: bool) -> HttpResponse:
    return render(request, "ccm/one_time_password.html", {"issued": issued, "new": new})


@role_required(USER_MANAGERS)
def user_create(request: HttpRequest) -> HttpResponse:
    """Add a user; the answer shows their one-time password once."""
    form = UserCreateForm(request.POST or None, initial={"role": Role.RN})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                issued = services.practice_user_create(
                    practice=_practice(request), actor=_admin(request), **form.cleaned_data
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                return _issued(request, issued, new=True)
    return render(request, "ccm/user_create.html", {"form": form}, status=status)


def _render_user(
    request: HttpRequest,
    user: User,
    form: UserFieldsForm | None = None,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "ccm/user_detail.html",
        {
            "person": user,
            "form": form or UserFieldsForm(initial=user_initial(user)),
            "is_self": user.pk == request.user.pk,
            "error": error,
        },
        status=status,
    )


@role_required(USER_MANAGERS)
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One user: change their role, name, credential or NPI; deactivate, reactivate or
    reset their password. The last active admin keeps the admin role (409)."""
    user = selectors.practice_user_get(practice=_practice(request), user_id=pk)
    if request.method != "POST":
        return _render_user(request, user)
    form = UserFieldsForm(request.POST)
    if not form.is_valid():
        return _render_user(request, user, form, status=400)
    try:
        services.practice_user_update(user=user, actor=_admin(request), **form.cleaned_data)
    except ValidationError as error:
        apply_service_errors(form, error)
        return _render_user(request, user, form, status=400)
    except LastAdmin as error:
        return _render_user(request, user, form, error=str(error.detail), status=409)
    messages.success(request, f"{user.username} saved.")
    return redirect(_user_url(user))


def _act(request: HttpRequest, pk: int, act: Any, done: str) -> HttpResponse:
    """Run one of the user actions (deactivate, reactivate); its refusal shows on the
    user's page (400, or 409 for the last admin)."""
    user = selectors.practice_user_get(practice=_practice(request), user_id=pk)
    try:
        act(user=user, actor=_admin(request))
    except ValidationError as error:
        return _render_user(request, user, error=" ".join(error.messages), status=400)
    except LastAdmin as error:
        return _render_user(request, user, error=str(error.detail), status=409)
    messages.success(request, done.format(name=user.display_name))
    return redirect(_user_url(user))


@role_required(USER_MANAGERS)
@require_POST
def user_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate: signed out everywhere at once, API tokens revoked."""
    return _act(
        request,
        pk,
        services.user_deactivate,
        "{name} is deactivated: signed out everywhere, API tokens revoked.",
    )


@role_required(USER_MANAGERS)
@require_POST
def user_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.user_reactivate, "{name} can sign in again.")


@role_required(USER_MANAGERS)
@require_POST
def user_reset_password(request: HttpRequest, pk: int) -> HttpResponse:
    """A one-time password for the user, shown in this answer only."""
    user = selectors.practice_user_get(practice=_practice(request), user_id=pk)
    try:
        issued = services.user_password_reset(user=user, actor=_admin(request))
    except ValidationError as error:
        return _render_user(request, user, error=" ".join(error.messages), status=400)
    return _issued(request, issued, new=False)


@role_required(SETTINGS_EDITORS)
def practice_settings(request: HttpRequest) -> HttpResponse:
    """The practice's name and Medicare fee locality (billing-rules.md section 1: a month
    is priced with the practice's fee schedule of its locality); changes are audited."""
    # A copy: a form that fails validation must not rename the practice in the header.
    practice = Practice.objects.get(pk=_practice(request).pk)
    form = PracticeSettingsForm(request.POST or None, instance=practice)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.practice_settings_update(
                    practice=practice,
                    actor=_admin(request),
                    name=form.cleaned_data["name"],
                    fee_locality=form.cleaned_data["fee_locality"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, "Practice settings saved.")
                return redirect("practice-settings")
    return render(request, "ccm/practice_settings.html", {"form": form}, status=status)


@login_required
def password_choose(request: HttpRequest) -> HttpResponse:
    """Choose one's own password (Django's password validators): required after signing
    in with a one-time password (ccm.middleware.PasswordChoiceMiddleware), open to every
    signed-in user. The other sessions of the user end; this one stays signed in."""
    user = _admin(request)
    form = PasswordChangeForm(user, request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            form.save()
            update_session_auth_hash(request, user)
            services.user_password_chosen(user=user)
            messages.success(request, "Your password is changed.")
            return redirect("home")
    return render(
        request,
        "registration/password_choose.html",
        {"form": form, "required": user.must_change_password},
        status=status,
    )
