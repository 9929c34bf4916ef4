"""The practice admin manages its users (issue 14, part 4), in the API and in the browser's
pages: create (role, credential, NPI checked), change role, deactivate (sessions end and
tokens are revoked at once), reactivate, reset a password (a one-time password, shown
once, that must be replaced at the next sign-in); every change audited; the practice's
last active admin stays; another practice's users are 404."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ccm.models import AuditEvent, Practice, Role, User

pytestmark = pytest.mark.django_db

ApiFor = Callable[[User | None], APIClient]


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def events(user: User, action: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type="ccm.user", object_id=str(user.pk), action=action)
    )


NEW_NURSE = {"username": "nina", "role": "rn", "full_name": "Nina Nurse", "credential": "RN"}


# -- the API ---------------------------------------------------------------------------


def test_the_admin_adds_a_user_who_gets_a_one_time_password(
    admin_user: User, api_client_for: ApiFor
) -> None:
    response = api_client_for(admin_user).post("/api/users/", NEW_NURSE, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    password = body["one_time_password"]
    nina = User.objects.get(username="nina")
    assert body["user"]["id"] == nina.pk and body["user"]["role"] == "rn"
    assert (nina.practice_id, nina.credential, nina.must_change_password) == (
        admin_user.practice_id,
        "RN",
        True,
    )
    assert nina.check_password(password) and len(password) == 19
    (created,) = events(nina, "user.create")
    assert created.actor_id == admin_user.pk
    assert password not in str(created.after) and created.after["role"] == "rn"
    assert not Token.objects.filter(user=nina).exists()
    # The one-time password is not a way into the API: they choose their own first.
    token = APIClient().post("/api/auth/token/", {"username": "nina", "password": password})
    assert token.status_code == 400 and "one-time password" in str(token.json())


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"role": "surgeon"}, "role", "valid choice"),
        ({"role": "practitioner", "npi": ""}, "npi", "needs an NPI"),
        ({"role": "practitioner", "npi": "1234567890"}, "npi", "check digit"),
        ({"role": "practitioner", "npi": "12345"}, "npi", "10 digits"),
        ({"username": "bad name!"}, "username", "valid username"),
        ({"full_name": ""}, "full_name", "blank"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    change: dict[str, str], field: str, words: str, admin_user: User, api_client_for: ApiFor
) -> None:
    response = api_client_for(admin_user).post(
        "/api/users/", {**NEW_NURSE, **change}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json() and words in str(response.json()[field])
    assert not User.objects.filter(username=NEW_NURSE["username"]).exists()


def test_a_username_in_use_is_a_400(admin_user: User, nurse: User, api_client_for: ApiFor) -> None:
    response = api_client_for(admin_user).post(
        "/api/users/", {**NEW_NURSE, "username": nurse.username}, format="json"
    )
    assert response.status_code == 400 and "username" in response.json()


def test_three_user_check_on_user_management(
    admin_user: User,
    nurse: User,
    outsider: User,
    make_user: Callable[..., User],
    api_client_for: ApiFor,
) -> None:
    target = make_user(Role.MA, username="target", credential="CMA")
    base = f"/api/users/{target.pk}/"
    owner, colleague, stranger = (
        api_client_for(admin_user),
        api_client_for(nurse),
        api_client_for(outsider),
    )
    # owner: the practice admin does everything
    assert owner.patch(base, {"credential": "CCMA"}, format="json").status_code == 200
    assert owner.post(f"{base}deactivate/").json()["is_active"] is False
    assert owner.post(f"{base}reactivate/").json()["is_active"] is True
    assert owner.post(f"{base}reset-password/").status_code == 200
    # colleague: the nurse sees who works here and changes nothing
    assert colleague.get(base).json()["username"] == "target"
    before = list(User.objects.filter(practice=admin_user.practice).values().order_by("pk"))
    for method, url in (
        ("post", "/api/users/"),
        ("patch", base),
        ("post", f"{base}deactivate/"),
        ("post", f"{base}reactivate/"),
        ("post", f"{base}reset-password/"),
    ):
        assert getattr(colleague, method)(url, NEW_NURSE, format="json").status_code == 403, url
    # outsider: another practice's admin: 404 for every one of ours, nothing changes
    for method, url in (
        ("get", base),
        ("patch", base),
        ("post", f"{base}deactivate/"),
        ("post", f"{base}reactivate/"),
        ("post", f"{base}reset-password/"),
    ):
        assert getattr(stranger, method)(url, {"role": "admin"}, format="json").status_code == 404
    assert list(User.objects.filter(practice=admin_user.practice).values().order_by("pk")) == before
    listed = {
        row["username"] for row in stranger.get("/api/users/?is_active=all").json()["results"]
    }
    assert listed == {outsider.username}


def test_a_role_change_is_audited_before_and_after(
    admin_user: User, nurse: User, api_client_for: ApiFor
) -> None:
    response = api_client_for(admin_user).patch(
        f"/api/users/{nurse.pk}/", {"role": "care_manager", "credential": "MSW"}, format="json"
    )
    assert response.status_code == 200 and response.json()["role"] == "care_manager"
    (changed,) = events(nurse, "user.update")
    assert changed.before == {"role": "rn", "credential": "RN"}
    assert changed.after == {"role": "care_manager", "credential": "MSW"}
    # Saving the same values again changes nothing and records nothing.
    api_client_for(admin_user).patch(
        f"/api/users/{nurse.pk}/", {"role": "care_manager"}, format="json"
    )
    assert len(events(nurse, "user.update")) == 1


def test_the_last_active_admin_keeps_the_role(
    admin_user: User, make_user: Callable[..., User], api_client_for: ApiFor
) -> None:
    me = api_client_for(admin_user)
    refused = me.patch(f"/api/users/{admin_user.pk}/", {"role": "billing"}, format="json")
    assert refused.status_code == 409
    assert "last active admin" in refused.json()["detail"]
    assert User.objects.get(pk=admin_user.pk).role == Role.ADMIN
    # An inactive admin does not count: the practice still has only one.
    idle = make_user(Role.ADMIN, username="idle-admin", is_active=False)
    assert (
        me.patch(f"/api/users/{admin_user.pk}/", {"role": "billing"}, format="json").status_code
        == 409
    )
    assert me.post(f"/api/users/{idle.pk}/reactivate/").status_code == 200
    # With a second active admin, the first may step down.
    assert (
        me.patch(f"/api/users/{admin_user.pk}/", {"role": "billing"}, format="json").status_code
        == 200
    )
    assert User.objects.get(pk=admin_user.pk).role == Role.BILLING


def test_an_admin_cannot_deactivate_themselves(admin_user: User, api_client_for: ApiFor) -> None:
    response = api_client_for(admin_user).post(f"/api/users/{admin_user.pk}/deactivate/")
    assert response.status_code == 400 and "yourself" in str(response.json())
    assert User.objects.get(pk=admin_user.pk).is_active


def test_deactivation_ends_sessions_and_revokes_tokens_at_once(
    admin_user: User, nurse: User, api_client_for: ApiFor
) -> None:
    browser, phone = signed_in(nurse), signed_in(nurse)
    api = api_client_for(nurse)
    colleague_browser = signed_in(admin_user)
    assert browser.get("/my-patients/").status_code == 200
    assert api.get("/api/me/").status_code == 200
    nurse_sessions = [
        s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(nurse.pk)
    ]
    assert len(nurse_sessions) == 2

    response = api_client_for(admin_user).post(f"/api/users/{nurse.pk}/deactivate/")
    assert response.status_code == 200 and response.json()["is_active"] is False

    assert not Session.objects.filter(session_key__in=[s.session_key for s in nurse_sessions])
    for client in (browser, phone):
        page = client.get("/my-patients/")
        assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert api.get("/api/me/").status_code == 401
    assert not Token.objects.filter(user=nurse).exists()
    assert colleague_browser.get("/practice/users/").status_code == 200  # others stay in
    signing_in = Client().post(
        "/login/", {"username": nurse.username, "password": "pw-for-tests-1"}
    )
    assert signing_in.status_code == 200  # the form again: inactive users cannot sign in
    (deactivated,) = events(nurse, "user.deactivate")
    assert deactivated.after == {"is_active": False, "sessions_ended": 2, "tokens_revoked": 1}
    assert deactivated.actor_id == admin_user.pk


def test_reactivation_lets_them_in_again_with_a_new_token(
    admin_user: User, nurse: User, api_client_for: ApiFor
) -> None:
    admin_api = api_client_for(admin_user)
    admin_api.post(f"/api/users/{nurse.pk}/deactivate/")
    assert admin_api.post(f"/api/users/{nurse.pk}/deactivate/").status_code == 400  # already
    assert admin_api.post(f"/api/users/{nurse.pk}/reactivate/").status_code == 200
    assert admin_api.post(f"/api/users/{nurse.pk}/reactivate/").status_code == 400  # already
    nurse.refresh_from_db()
    assert nurse.is_active and api_client_for(nurse).get("/api/me/").status_code == 200
    assert len(events(nurse, "user.reactivate")) == 1


def test_a_password_reset_gives_a_one_time_password_to_replace_at_sign_in(
    admin_user: User, nurse: User, api_client_for: ApiFor
) -> None:
    old_browser = signed_in(nurse)
    response = api_client_for(admin_user).post(f"/api/users/{nurse.pk}/reset-password/")
    assert response.status_code == 200
    password = response.json()["one_time_password"]
    assert old_browser.get("/my-patients/").status_code == 302  # signed out
    assert not Token.objects.filter(user=nurse).exists()
    (reset,) = events(nurse, "user.password_reset")
    assert password not in str(reset.after) and reset.actor_id == admin_user.pk

    browser = Client()
    assert (
        browser.post(
            "/login/", {"username": nurse.username, "password": "pw-for-tests-1"}
        ).status_code
        == 200
    )  # the old password no longer works
    signed = browser.post("/login/", {"username": nurse.username, "password": password})
    assert signed.status_code == 302
    # Every page leads to choosing a password; the API says so too.
    for url in ("/", "/my-patients/", "/patients/"):
        page = browser.get(url)
        assert page.status_code == 302 and page["Location"] == "/account/password/", url
    assert browser.get("/api/me/").status_code == 403
    form = browser.get("/account/password/")
    assert form.status_code == 200 and "one-time password" in form.content.decode()
    weak = browser.post(
        "/account/password/",
        {"old_password": password, "new_password1": "short", "new_password2": "short"},
    )
    assert weak.status_code == 400
    chosen = browser.post(
        "/account/password/",
        {
            "old_password": password,
            "new_password1": "a-Long-own-passphrase-42",
            "new_password2": "a-Long-own-passphrase-42",
        },
    )
    assert chosen.status_code == 302
    assert browser.get("/my-patients/").status_code == 200  # still signed in
    nurse.refresh_from_db()
    assert not nurse.must_change_password
    assert len(events(nurse, "user.password_change")) == 1
    token = APIClient().post(
        "/api/auth/token/", {"username": nurse.username, "password": "a-Long-own-passphrase-42"}
    )
    assert token.status_code == 200


def test_an_inactive_users_password_is_not_reset(
    admin_user: User, nurse: User, api_client_for: ApiFor
) -> None:
    api = api_client_for(admin_user)
    api.post(f"/api/users/{nurse.pk}/deactivate/")
    response = api.post(f"/api/users/{nurse.pk}/reset-password/")
    assert response.status_code == 400 and "reactivate" in str(response.json())


def test_only_the_admin_lists_inactive_users(
    admin_user: User, nurse: User, make_user: Callable[..., User], api_client_for: ApiFor
) -> None:
    gone = make_user(Role.LPN, username="gone", is_active=False)

    def names(user: User, query: str) -> set[str]:
        body = api_client_for(user).get(f"/api/users/{query}").json()
        return {row["username"] for row in body["results"]}

    assert "gone" not in names(admin_user, "")
    assert names(admin_user, "?is_active=false") == {gone.username}
    assert "gone" in names(admin_user, "?is_active=all")
    refused = api_client_for(nurse).get("/api/users/?is_active=all")
    assert refused.status_code == 400 and "is_active" in refused.json()
    assert api_client_for(admin_user).get("/api/users/?role=surgeon").status_code == 400


# -- the pages -------------------------------------------------------------------------


def test_the_admin_adds_a_nurse_in_the_browser(admin_user: User) -> None:
    client = signed_in(admin_user)
    listing = client.get("/practice/users/")
    assert listing.status_code == 200 and admin_user.username in listing.content.decode()
    bad = client.post("/practice/users/new/", {**NEW_NURSE, "npi": "1234567890"})
    assert bad.status_code == 400 and "check digit" in bad.content.decode()
    made = client.post("/practice/users/new/", NEW_NURSE)
    assert made.status_code == 200
    html = made.content.decode()
    nina = User.objects.get(username="nina")
    shown = made.context["issued"].password
    assert shown in html and "shown <strong>this once</strong>" in html
    assert nina.check_password(shown) and nina.must_change_password


def test_the_admin_changes_a_role_and_deactivates_in_the_browser(
    admin_user: User, nurse: User
) -> None:
    client = signed_in(admin_user)
    page = client.get(f"/practice/users/{nurse.pk}/")
    assert page.status_code == 200 and 'data-testid="deactivate"' in page.content.decode()
    saved = client.post(
        f"/practice/users/{nurse.pk}/",
        {"full_name": nurse.full_name, "role": "lpn", "credential": "LPN", "npi": ""},
    )
    assert saved.status_code == 302
    assert User.objects.get(pk=nurse.pk).role == Role.LPN
    gone = client.post(f"/practice/users/{nurse.pk}/deactivate/")
    assert gone.status_code == 302 and not User.objects.get(pk=nurse.pk).is_active
    assert "inactive" in client.get(f"/practice/users/{nurse.pk}/").content.decode()
    back = client.post(f"/practice/users/{nurse.pk}/reactivate/")
    assert back.status_code == 302 and User.objects.get(pk=nurse.pk).is_active
    reset = client.post(f"/practice/users/{nurse.pk}/reset-password/")
    assert reset.status_code == 200
    assert User.objects.get(pk=nurse.pk).check_password(reset.context["issued"].password)


def test_the_pages_refuse_the_last_admin_and_self_deactivation(admin_user: User) -> None:
    client = signed_in(admin_user)
    page = client.get(f"/practice/users/{admin_user.pk}/")
    assert 'data-testid="deactivate"' not in page.content.decode()  # not offered
    demoted = client.post(
        f"/practice/users/{admin_user.pk}/",
        {"full_name": "Ada", "role": "billing", "credential": "", "npi": ""},
    )
    assert demoted.status_code == 409 and "last active admin" in demoted.content.decode()
    itself = client.post(f"/practice/users/{admin_user.pk}/deactivate/")
    assert itself.status_code == 400 and "yourself" in itself.content.decode()
    assert User.objects.get(pk=admin_user.pk).is_active


def test_the_user_pages_are_the_admins_and_scoped(
    admin_user: User, billing_user: User, nurse: User, outsider: User
) -> None:
    for user in (nurse, billing_user):
        assert signed_in(user).get("/practice/users/").status_code == 403
        assert signed_in(user).post(f"/practice/users/{nurse.pk}/deactivate/").status_code == 403
    stranger = signed_in(outsider)
    assert stranger.get(f"/practice/users/{nurse.pk}/").status_code == 404
    assert stranger.post(f"/practice/users/{nurse.pk}/deactivate/").status_code == 404
    assert nurse.username not in stranger.get("/practice/users/?show=all").content.decode()
    assert User.objects.get(pk=nurse.pk).is_active


def test_practice_settings_are_the_admins_and_audited(admin_user: User, nurse: User) -> None:
    assert signed_in(nurse).get("/practice/settings/").status_code == 403
    client = signed_in(admin_user)
    assert client.get("/practice/settings/").status_code == 200
    too_long = client.post("/practice/settings/", {"name": "Home", "fee_locality": "x" * 30})
    assert too_long.status_code == 400
    assert Practice.objects.get(pk=admin_user.practice_id).name == "Home Practice"
    saved = client.post("/practice/settings/", {"name": "Home Clinic", "fee_locality": "0111205"})
    assert saved.status_code == 302
    practice = Practice.objects.get(pk=admin_user.practice_id)
    assert (practice.name, practice.fee_locality) == ("Home Clinic", "0111205")
    (event,) = AuditEvent.objects.filter(action="practice.update", practice=practice)
    assert event.before == {"name": "Home Practice", "fee_locality": ""}
    assert event.after == {"name": "Home Clinic", "fee_locality": "0111205"}


def test_a_token_does_not_outrun_a_one_time_password(nurse: User, api_client_for: ApiFor) -> None:
    """Defence in depth: even a token that exists is refused until the user has chosen
    their own password."""
    User.objects.filter(pk=nurse.pk).update(must_change_password=True)
    response = api_client_for(nurse).get("/api/me/")
    assert response.status_code == 401 and "one-time" in response.json()["detail"]
