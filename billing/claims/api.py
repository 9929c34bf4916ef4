"""The claims API (interface.md, "Claims out and audit"): the month's claims as an 837P
file and as a FHIR Bundle, each claim's audit packet, and the month's packets as a ZIP.

The exports are ccm.exports' ExportApis: negotiated by Accept (application/edi-x12,
application/fhir+json, or */*), streamed in chunks, every error JSON. Each opens a
stored interchange first (control numbers, who, when, which rows), then streams the
file from it a chunk of claims at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.claims.archives import (
    INLINE_PACKETS,
    month_packet_rows,
    month_packets_stream,
    packet_archive_request,
)
from billing.claims.claims import claim_id_of, interchange_claims
from billing.claims.fhir import fhir_bundle
from billing.claims.models import ClaimInterchange, PacketArchive
from billing.claims.packet import packet_content, packet_filename, packet_pdf
from billing.claims.services import claim_interchange_create
from billing.claims.x12 import x12_837p
from billing.worklist import current_version, worklist_rows_any_version
from ccm.audit import audit_record
from ccm.capabilities import Capability as C
from ccm.capabilities import roles_with
from ccm.exports import ExportApi, FhirJsonFormat, X12Format
from ccm.models import BillingProvider
from ccm.negotiation import JSONFirstNegotiation
from ccm.periods import parse_month

CLAIM_EXPORTERS = roles_with(C.WORK_CLAIMS)


class _FileRenderer(BaseRenderer):
    """Lets content negotiation accept the export's media type; the file itself is a
    streamed response, and errors are rendered as JSON (see ExportApi)."""

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        return JSONRenderer().render(data)


class LenientFormatNegotiation(JSONFirstNegotiation):
    """?format= picks a renderer when it names one of the view's; any other value is
    ignored (negotiated by Accept), rather than DRF's 404 for an unknown format."""

    def select_renderer(
        self, request: Request, renderers: Any, format_suffix: str | None = None
    ) -> tuple[Any, str]:
        renderers = list(renderers)
        asked = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        if asked and asked not in {renderer.format for renderer in renderers}:
            request._request.GET = request._request.GET.copy()
            request._request.GET.pop(self.settings.URL_FORMAT_OVERRIDE, None)
            format_suffix = None
        return super().select_renderer(request, renderers, format_suffix)


EXPORT_PARAMETERS = [
    OpenApiParameter("month", str, required=True, description="YYYY-MM"),
    OpenApiParameter("practitioner", int, description="Only this billing practitioner's."),
]


def export_query(request: Request) -> tuple[dt.date, int | None]:
    params = request.query_params
    errors: dict[str, list[str]] = {}
    month: dt.date | None = None
    try:
        month = parse_month(params.get("month", ""))
    except ValueError as error:
        errors["month"] = [str(error)]
    practitioner = params.get("practitioner") or None
    if practitioner is not None and not practitioner.isdigit():
        errors["practitioner"] = ["Give a user id (a whole number)."]
    if errors or month is None:
        raise ValidationError(errors)
    return month, int(practitioner) if practitioner else None


class JsonErrorsMixin:
    """Errors are JSON whatever the client asked for (DRF renders a response with the
    renderer negotiated for the request, which for a file is the file's); an unknown
    ?format= is ignored."""

    content_negotiation_class = LenientFormatNegotiation

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]


class ClaimsExportApi(ExportApi):
    """An export of the month's claims (ccm.exports: negotiated by Accept, streamed in
    chunks, errors JSON): opens an interchange, then streams its file from it."""

    allowed_roles = CLAIM_EXPORTERS
    content_negotiation_class = LenientFormatNegotiation
    kind: str

    def get(self, request: Request) -> StreamingHttpResponse:
        month, practitioner_id = export_query(request)
        interchange = claim_interchange_create(
            practice=request.user.practice,
            actor=request.user,
            month=month,
            kind=self.kind,
            practitioner_id=practitioner_id,
        )
        provider = BillingProvider.objects.get(practice_id=interchange.practice_id)
        response = self.stream(
            self.pieces(interchange, provider),
            name=f"claims-{month:%Y-%m}-{interchange.control_number}",
        )
        response["X-Claims"] = str(interchange.claims)
        response["X-Interchange"] = interchange.control_number
        return response

    def pieces(self, interchange: ClaimInterchange, provider: BillingProvider) -> Iterator[str]:
        raise NotImplementedError


class Export837pApi(ClaimsExportApi):
    """GET /api/worklist/export/837p/?month=YYYY-MM[&practitioner=ID]: an ASC X12
    005010X222A1 file, one CLM per billable patient-month not yet submitted (or
    correcting one that was)."""

    kind = ClaimInterchange.Kind.X12_837P
    renderer_classes = (X12Format,)

    def pieces(self, interchange: ClaimInterchange, provider: BillingProvider) -> Iterator[str]:
        now = timezone.localtime(interchange.created_at)
        return x12_837p(interchange, provider, interchange_claims(interchange.pk), now)

    @extend_schema(
        parameters=EXPORT_PARAMETERS, responses={(200, X12Format.media_type): OpenApiTypes.STR}
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)


class ExportFhirApi(ClaimsExportApi):
    """GET /api/worklist/export/fhir/?month=YYYY-MM[&practitioner=ID]: a FHIR R4B Bundle
    (collection) of Claim resources with the Patient, Practitioner, Organization and
    Coverage they reference (and the Conditions behind their diagnoses)."""

    kind = ClaimInterchange.Kind.FHIR
    renderer_classes = (FhirJsonFormat,)

    def pieces(self, interchange: ClaimInterchange, provider: BillingProvider) -> Iterator[str]:
        return fhir_bundle(interchange, provider, interchange_claims(interchange.pk))

    @extend_schema(
        parameters=EXPORT_PARAMETERS,
        responses={(200, FhirJsonFormat.media_type): OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)


# -- audit packets ---------------------------------------------------------------------


class PdfRenderer(_FileRenderer):
    media_type = "application/pdf"
    format = "pdf"


class ZipRenderer(_FileRenderer):
    media_type = "application/zip"
    format = "zip"


class PacketApi(JsonErrorsMixin, APIView):
    """GET /api/worklist/{id}/packet/: the claim's audit packet as a PDF, or with
    ?format=json the same content as JSON. Opening it is audited."""

    allowed_roles = CLAIM_EXPORTERS
    renderer_classes = (PdfRenderer, JSONRenderer)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["pdf", "json"])],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "application/json"): OpenApiTypes.OBJECT,
        },
    )
    def get(self, request: Request, pk: int) -> Any:
        row = get_object_or_404(worklist_rows_any_version(request.user.practice), pk=pk)
        as_json = request.accepted_renderer.format == "json"
        audit_record(
            actor=request.user,
            action="packet.open",
            instance=row,
            practice=row.practice,
            after={"format": "json" if as_json else "pdf", "claim": claim_id_of(row.pk)},
        )
        content = packet_content(row, opened_by=request.user)
        if as_json:
            return Response(content)
        response = HttpResponse(packet_pdf(content), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{packet_filename(row)}"'
        return response


class PacketArchiveSerializer(serializers.Serializer):  # type: ignore[type-arg]
    month = serializers.DateField(format="%Y-%m")
    version = serializers.IntegerField()
    status = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)


class PacketsZipApi(JsonErrorsMixin, APIView):
    """GET /api/billing-months/{YYYY-MM}/packets.zip: every billable claim's packet
    (the current close version), streamed. A month of more than INLINE_PACKETS claims is
    built by a worker: the answer is then 202 with the progress until the ZIP is ready
    (ask again), and 200 with the file after."""

    allowed_roles = CLAIM_EXPORTERS
    renderer_classes = (JSONRenderer, ZipRenderer)

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            (202, "application/json"): PacketArchiveSerializer,
        }
    )
    def get(self, request: Request, month: str) -> Any:
        try:
            first = parse_month(month)
        except ValueError as error:
            raise NotFound(str(error)) from None
        practice = request.user.practice
        version = current_version(practice, first)
        row_ids = month_packet_rows(practice, first, version) if version else []
        if not row_ids:
            raise NotFound(f"{first:%Y-%m} has no billable claim (close version {version}).")
        if len(row_ids) <= INLINE_PACKETS:
            response = StreamingHttpResponse(
                month_packets_stream(
                    practice=practice, month=first, actor=request.user, row_ids=row_ids
                ),
                content_type="application/zip",
            )
            response["Content-Disposition"] = f'attachment; filename="packets-{first:%Y-%m}.zip"'
            return response
        archive = packet_archive_request(practice=practice, month=first, actor=request.user)
        if archive.status != PacketArchive.Status.READY:
            return Response(PacketArchiveSerializer(archive).data, status=202)
        audit_record(
            actor=request.user,
            action="packet.open_month",
            instance=archive,
            practice=practice,
            after={"packets": archive.total, "how": "archive"},
        )
        return FileResponse(
            open(archive.path, "rb"),
            as_attachment=True,
            filename=f"packets-{first:%Y-%m}.zip",
            content_type="application/zip",
        )
