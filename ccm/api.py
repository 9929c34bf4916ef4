"""The shared layer's API: who am I, and the practice's users (practice-scoped)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ccm.limits import LINE_MAX_LENGTH
from ccm.models import ALL_ROLES, User
from ccm.openapi import ErrorSerializer
from ccm.parsers import JSONParser
from ccm.permissions import PracticeScopedMixin


class UserOutputSerializer(serializers.ModelSerializer):
    practice = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = User
        fields = ("id", "username", "full_name", "role", "credential", "npi", "practice")
        read_only_fields = fields


class MeApi(APIView):
    """The signed-in user."""

    allowed_roles = ALL_ROLES
    serializer_class = UserOutputSerializer

    def get(self, request: Request) -> Response:
        return Response(UserOutputSerializer(request.user).data)


class UserListApi(PracticeScopedMixin, generics.ListAPIView):
    """The users of the caller's practice."""

    allowed_roles = ALL_ROLES
    serializer_class = UserOutputSerializer
    queryset = User.objects.filter(is_active=True).select_related("practice").order_by("id")
    filterset_fields = ("role",)


class UserDetailApi(PracticeScopedMixin, generics.RetrieveAPIView):
    """One user of the caller's practice (another practice's: 404)."""

    allowed_roles = ALL_ROLES
    serializer_class = UserOutputSerializer
    queryset = User.objects.select_related("practice")


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
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})
