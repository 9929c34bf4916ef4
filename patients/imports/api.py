"""POST /api/patients/import/ (interface.md, "Enrollment in bulk"), for the practice
admin: a CSV or a FHIR Bundle as a multipart `file`, or as the body itself (text/csv,
application/json, application/fhir+json); `?dry_run=true` writes nothing. 200 with
{"created", "updated", "unchanged", "errors": [], ...}; 400 with the same object and
every problem named by line (CSV) or entry (Bundle) and field when the file has any."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.imports.services import IMPORTERS, MAX_FILE_BYTES, patients_import


class RawBodyParser(BaseParser):
    """The body as bytes, for the import's own readers (CSV and FHIR JSON)."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return stream.read(MAX_FILE_BYTES + 1) if stream is not None else b""


class ImportErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    line = serializers.IntegerField(required=False, help_text="CSV line (1: the header).")
    entry = serializers.IntegerField(required=False, help_text="Bundle entry (from 0).")
    field = serializers.CharField()
    message = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True)
    ignored = serializers.ListField(child=serializers.CharField())
    dry_run = serializers.BooleanField()
    format = serializers.ChoiceField(choices=["csv", "fhir", "unknown"])


def _uploaded(request: Request) -> bytes:
    data = request.data
    if isinstance(data, bytes):
        body = data
    else:
        upload = data.get("file") if hasattr(data, "get") else None
        if upload is None or isinstance(upload, str):
            raise ValidationError({"file": ["Attach the CSV or Bundle as `file`, or send it."]})
        body = upload.read(MAX_FILE_BYTES + 1)
    if len(body) > MAX_FILE_BYTES:
        raise ValidationError({"file": [f"The file is larger than {MAX_FILE_BYTES:,} bytes."]})
    if not body.strip():
        raise ValidationError({"file": ["The file is empty."]})
    return bytes(body)


class PatientImportApi(APIView):
    """Bulk enrollment: all rows or none; audited."""

    allowed_roles = {"POST": IMPORTERS}
    parser_classes = (MultiPartParser, RawBodyParser)

    @extend_schema(
        parameters=[OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="Write nothing.")],
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            },
            "text/csv": OpenApiTypes.STR,
            "application/fhir+json": OpenApiTypes.OBJECT,
        },
        responses={200: ImportResultSerializer},
    )
    def post(self, request: Request) -> Response:
        dry_run_text = request.query_params.get("dry_run", "false").lower()
        if dry_run_text not in ("true", "false", "1", "0", ""):
            raise ValidationError({"dry_run": ["Give true or false."]})
        result = patients_import(
            practice=request.user.practice,
            actor=request.user,
            content=_uploaded(request),
            dry_run=dry_run_text in ("true", "1"),
        )
        return Response(
            ImportResultSerializer(result.as_json()).data, status=400 if result.errors else 200
        )
