"""The shared layer's API: who am I, and the practice's users (practice-scoped): every
role sees who works there; the practice admin adds, changes, deactivates and reactivates
users and resets passwords (ccm.services, audited)."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ccm import selectors, services
from ccm.capabilities import Capability as C
from ccm.capabilities import can, roles_with
from ccm.limits import LINE_MAX_LENGTH
from ccm.models import Role, User
from ccm.openapi import ErrorSerializer
from ccm.parsers import JSONParser
from ccm.permissions import caller_practice

STAFF_READERS = roles_with(C.SEE_STAFF)
USER_MANAGERS = roles_with(C.MANAGE_USERS)


class UserOutputSerializer(serializers.ModelSerializer):
    practice = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = User
        fields = (
            "id",
            "username",
            "full_name",
            "role",
            "credential",
            "npi",
            "practice",
            "is_active",
            "must_change_password",
        )
        read_only_fields = fields


class UserCreateInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)
    full_name = serializers.CharField(max_length=200)
    credential = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    npi = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")


class UserUpdateInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    full_name = serializers.CharField(max_length=200, required=False)
    credential = serializers.CharField(max_length=20, required=False, allow_blank=True)
    npi = serializers.CharField(max_length=10, required=False, allow_blank=True)


class IssuedPasswordSerializer(serializers.Serializer):  # type: ignore[type-arg]
    user = UserOutputSerializer()
    one_time_password = serializers.CharField(
        source="password",
        help_text="Shown this once: the user signs in with it and must then choose a password.",
    )


def _manager(request: Request) -> User:
    return cast(User, request.user)


class MeApi(APIView):
    """The signed-in user."""

    allowed_roles = STAFF_READERS
    serializer_class = UserOutputSerializer

    def get(self, request: Request) -> Response:
        return Response(UserOutputSerializer(request.user).data)


class UserListApi(generics.ListAPIView):  # type: ignore[type-arg]
    """GET: the practice's active users (?role=; the admin may ask ?is_active=false or
    all). POST (admin): add a user; the answer carries a one-time password, shown once."""

    allowed_roles = {"GET": STAFF_READERS, "POST": USER_MANAGERS}
    serializer_class = UserOutputSerializer
    filter_backends = ()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return User.objects.none()
        params = self.request.query_params
        asked = params.get("is_active", "true").lower()
        if asked not in {"true", "false", "all"}:
            raise ValidationError({"is_active": ["Give true, false or all."]})
        if asked != "true" and not can(self.request.user, C.MANAGE_USERS):
            raise ValidationError({"is_active": ["Only the practice admin lists inactive users."]})
        role = params.get("role", "")
        if role and role not in Role.values:
            raise ValidationError({"role": [f"Choose one of {', '.join(Role.values)}."]})
        return selectors.practice_users(
            practice=caller_practice(self.request),
            is_active={"true": True, "false": False}.get(asked),
            role=role,
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("role", OpenApiTypes.STR, enum=Role.values),
            OpenApiParameter("is_active", OpenApiTypes.STR, enum=["true", "false", "all"]),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(request=UserCreateInputSerializer, responses={201: IssuedPasswordSerializer})
    def post(self, request: Request) -> Response:
        data = UserCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.practice_user_create(
            practice=caller_practice(request), actor=_manager(request), **data.validated_data
        )
        return Response(IssuedPasswordSerializer(issued).data, status=status.HTTP_201_CREATED)


class UserScopedApi(generics.GenericAPIView):  # type: ignore[type-arg]
    """A view under /api/users/{id}/: the user is found in the caller's practice (404
    otherwise)."""

    serializer_class = UserOutputSerializer
    queryset = User.objects.none()

    def target(self, pk: int) -> User:
        return selectors.practice_user_get(practice=caller_practice(self.request), user_id=pk)


class UserDetailApi(UserScopedApi):
    """GET: one user of the caller's practice (another practice's: 404). PATCH (admin):
    change their role, name, credential or NPI; the last active admin keeps the role
    (409)."""

    allowed_roles = {"GET": STAFF_READERS, "PATCH": USER_MANAGERS}

    def get(self, request: Request, pk: int) -> Response:
        return Response(UserOutputSerializer(self.target(pk)).data)

    @extend_schema(request=UserUpdateInputSerializer, responses={200: UserOutputSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        user = self.target(pk)
        data = UserUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.practice_user_update(
            user=user, actor=_manager(request), **data.validated_data
        )
        return Response(UserOutputSerializer(user).data)


class UserDeactivateApi(UserScopedApi):
    """POST (admin): deactivate the user; their sessions end and their API tokens are
    revoked at once. Not oneself (400), nor the last active admin (409)."""

    allowed_roles = {"POST": USER_MANAGERS}

    @extend_schema(request=None, responses={200: UserOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        user = services.user_deactivate(user=self.target(pk), actor=_manager(request))
        return Response(UserOutputSerializer(user).data)


class UserReactivateApi(UserScopedApi):
    """POST (admin): let an inactive user sign in again."""

    allowed_roles = {"POST": USER_MANAGERS}

    @extend_schema(request=None, responses={200: UserOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        user = services.user_reactivate(user=self.target(pk), actor=_manager(request))
        return Response(UserOutputSerializer(user).data)


class UserPasswordResetApi(UserScopedApi):
    """POST (admin): a one-time password for the user, in the answer only (shown once);
    their sessions end, their tokens are revoked, and they choose a new password at their
    next sign-in."""

    allowed_roles = {"POST": USER_MANAGERS}

    @extend_schema(request=None, responses={200: IssuedPasswordSerializer})
    def post(self, request: Request, pk: int) -> Response:
        issued = services.user_password_reset(user=self.target(pk), actor=_manager(request))
        return Response(IssuedPasswordSerializer(issued).data)


class TokenInputSerializer(AuthTokenSerializer):
    """DRF's, with lengths (ccm.limits): the longest username Django stores, and a
    password no longer than anyone types."""

    username = serializers.CharField(label="Username", max_length=150, write_only=True)
    password = serializers.CharField(
        label="Password",
        max_length=LINE_MAX_LENGTH,
        style={"input_type": "password"},
        trim_whitespace=False,
        write_only=True,
    )


class TokenApi(ObtainAuthToken):
    """POST /api/auth/token/ {username, password}: the user's DRF token. Failures count
    toward the sign-in lockout (django-axes); a locked account gets 429, never a token."""

    parser_classes = (JSONParser, FormParser, MultiPartParser)
    serializer_class = TokenInputSerializer

    @extend_schema(responses={200: AuthTokenSerializer, 429: ErrorSerializer})
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            if getattr(request, "axes_locked_out", False) or getattr(
                request._request, "axes_locked_out", False
            ):
                return Response(
                    {"detail": "Too many failed sign-ins: this account is locked for a while."},
                    status=429,
                )
            raise ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        if user.must_change_password:
            raise ValidationError(
                {
                    "password": [
                        "This is a one-time password: sign in on the web and choose your "
                        "own password first."
                    ]
                }
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
