"""API authentication: DRF's token scheme, loading the caller's practice with the token."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token KEY`, as DRF's own, but the user's practice comes in the same
    query as the token: every API view scopes its queries to `request.user.practice`, so
    loading it here saves each request a query."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        try:
            token = Token.objects.select_related("user__practice").get(key=key)
        except Token.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if token.user.must_change_password:
            raise exceptions.AuthenticationFailed(
                _("Choose your own password on the web first: you have a one-time one.")
            )
        return (token.user, token)
