"""The billing API: the live decision of a patient-month, and the engine's what-if."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.close import reopen_month
from billing.fees import FEE_EDITORS, effective_fees, fee_schedule_import
from billing.models import CloseRun, WorklistRow, WorklistStatus
from billing.rules import FactsError, decision_as_json, evaluate, parse_facts, rulebook_for
from billing.selectors import patient_month_decision, with_practice_fees
from billing.serializers import (
    BillingMonthSerializer,
    DecisionSerializer,
    MdmInputSerializer,
    MdmOutputSerializer,
    PatientMonthSerializer,
    ReopenInputSerializer,
    RowsStatusInputSerializer,
    RowsStatusOutputSerializer,
    RowStatusInputSerializer,
    WorklistRowSerializer,
    decision_seen,
)
from billing.services import (
    billing_month_close_start,
    mdm_attest,
    worklist_row_set_status,
    worklist_rows_set_status,
)
from billing.worklist import export_csv_chunks, worklist_rows, worklist_rows_any_version
from ccm.audit import audit_read, audit_record
from ccm.capabilities import Capability as C
from ccm.capabilities import roles_with, sight_of
from ccm.exports import CsvFormat, ExportApi
from ccm.models import BillingMonth
from ccm.periods import billing_month_status, month_start, parse_month
from patients.models import Patient
from timelog.models import TimeShare


class CsvTextParser(BaseParser):
    """A text/csv request body, as text."""

    media_type = "text/csv"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> str:
        try:
            return str(stream.read().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise ValidationError({"file": ["The body is not UTF-8 text."]}) from None


def month_from_url(text: str) -> Any:
    try:
        return parse_month(text)
    except ValueError as error:
        raise NotFound(str(error)) from None


class PatientMonthApi(APIView):
    """GET /api/patients/{id}/months/{YYYY-MM}/: the live decision for the patient-month
    (billing-rules.md section 3) and the month's entries, computed by the same engine the
    month close runs. Amounts only for those who may see this patient's money
    (ccm.capabilities)."""

    allowed_roles = roles_with(C.SEE_CARE_TIME)

    @extend_schema(responses=PatientMonthSerializer)
    def get(self, request: Request, pk: int, month: str) -> Response:
        first = month_from_url(month)
        patient = get_object_or_404(
            Patient.objects.filter(practice=request.user.practice).select_related(
                "billing_practitioner", "practice"
            ),
            pk=pk,
        )
        audit_read(actor=request.user, instance=patient, what=f"api:patient-month {first:%Y-%m}")
        _, decision = patient_month_decision(patient=patient, month=first)
        shares = (
            TimeShare.objects.filter(
                patient=patient, date__year=first.year, date__month=first.month
            )
            .select_related("activity__performer")
            .order_by("date", "activity_id")
        )
        return Response(
            PatientMonthSerializer(
                {
                    "patient": patient.pk,
                    "month": f"{first:%Y-%m}",
                    "month_status": billing_month_status(patient.practice, first),
                    "decision": decision_seen(
                        decision_as_json(decision), sight_of(request.user, patient)
                    ),
                    "entries": shares,
                }
            ).data
        )


class EvaluateApi(APIView):
    """POST /api/billing/evaluate/: facts in (billing-rules.md section 2), decision out,
    with the caller's practice fee schedule of the month's year (of the rulebook's year
    when the facts name a rulebook); 400 naming the field on bad facts. Amounts only for
    roles that see revenue (the facts name no patient of the practice)."""

    allowed_roles = roles_with(C.SEE_CARE_TIME)

    @extend_schema(request=OpenApiTypes.OBJECT, responses=DecisionSerializer)
    def post(self, request: Request) -> Response:
        try:
            facts = parse_facts(request.data)
        except FactsError as error:
            raise ValidationError({error.field: [error.message]}) from None
        try:
            rulebook = rulebook_for(facts)
            year = facts.month.year if facts.rulebook is None else rulebook.year
            rulebook = with_practice_fees(request.user.practice, rulebook, year)
        except FactsError as error:
            raise ValidationError({error.field: [error.message]}) from None
        decision = decision_as_json(evaluate(facts, rulebook))
        return Response(decision_seen(decision, sight_of(request.user)))


class FeeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField()
    description = serializers.CharField()
    amount = serializers.DecimalField(max_digits=9, decimal_places=2)
    shipped_default = serializers.DecimalField(max_digits=9, decimal_places=2)
    source = serializers.CharField()


class FeeImportResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class FeeScheduleApi(APIView):
    """GET /api/fee-schedule/?year=YYYY: the fees the engine uses for the practice (its
    own where loaded, else the shipped defaults): money, so billing staff and admins."""

    allowed_roles = roles_with(C.SEE_REVENUE)

    @extend_schema(parameters=[OpenApiParameter("year", int)], responses=FeeSerializer(many=True))
    def get(self, request: Request) -> Response:
        year_text = request.query_params.get("year") or str(timezone.localdate().year)
        if not year_text.isdigit() or not 2000 <= int(year_text) <= 2100:
            raise ValidationError({"year": [f"{year_text!r} is not a year."]})
        fees = effective_fees(request.user.practice, int(year_text))
        return Response(FeeSerializer(fees, many=True).data)


class FeeScheduleImportApi(APIView):
    """POST /api/fee-schedule/import/: a CSV (code,year,locality,amount) as a multipart
    `file` or a text/csv body; all rows or none; errors name the row and column."""

    allowed_roles = FEE_EDITORS
    parser_classes = (MultiPartParser, CsvTextParser)

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
            "text/csv": OpenApiTypes.STR,
        },
        responses=FeeImportResultSerializer,
    )
    def post(self, request: Request) -> Response:
        text = read_uploaded_text(request)
        result = fee_schedule_import(practice=request.user.practice, actor=request.user, text=text)
        return Response(FeeImportResultSerializer(result).data)


def read_uploaded_text(request: Request) -> str:
    """The CSV text of a request: a multipart `file`, or the body itself."""
    if isinstance(request.data, str):
        return request.data
    upload = request.data.get("file")
    if upload is None:
        raise ValidationError({"file": ["Attach the CSV as `file`, or send it as text/csv."]})
    if upload.size > 2_000_000:
        raise ValidationError({"file": ["The file is larger than 2 MB."]})
    try:
        return upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": ["The file is not UTF-8 text."]}) from None


BILLING_STAFF = roles_with(C.WORK_CLAIMS)
REVENUE_READERS = roles_with(C.SEE_REVENUE)


def _practice_patient(request: Request, pk: int) -> Patient:
    return get_object_or_404(
        Patient.objects.filter(practice=request.user.practice).select_related("practice"), pk=pk
    )


class MdmAttestApi(APIView):
    """POST /api/patients/{id}/months/{YYYY-MM}/mdm/ {level, note}: the patient's billing
    practitioner attests moderate or high MDM (anyone else: 403; closed month: 409)."""

    allowed_roles = {"POST": roles_with(C.ATTEST_MDM)}

    @extend_schema(request=MdmInputSerializer, responses={201: MdmOutputSerializer})
    def post(self, request: Request, pk: int, month: str) -> Response:
        first = month_from_url(month)
        patient = _practice_patient(request, pk)
        data = MdmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attestation = mdm_attest(
            practitioner=request.user,
            patient=patient,
            month=first,
            level=data.validated_data["level"],
            note=data.validated_data["note"],
        )
        return Response(MdmOutputSerializer(attestation).data, status=201)


def billing_month_payload(practice: Any, first: Any) -> dict[str, Any]:
    billing_month = BillingMonth.objects.filter(practice=practice, month=first).first()
    version = billing_month.version if billing_month else 0
    run = (
        CloseRun.objects.filter(practice=practice, month=first, version=version)
        .annotate(chunks_done=Count("chunks", filter=Q(chunks__done=True)))
        .first()
    )
    rows = WorklistRow.objects.filter(practice=practice, month=first, version=version)
    counts = {row["status"]: row["n"] for row in rows.values("status").annotate(n=Count("id"))}
    return {
        "month": f"{first:%Y-%m}",
        "status": billing_month.status if billing_month else BillingMonth.Status.OPEN,
        "version": version,
        "run": run,
        "counts": counts,
        "total_amount": rows.aggregate(total=Sum("total_amount"))["total"] or Decimal("0"),
    }


class BillingMonthApi(APIView):
    """GET /api/billing-months/{YYYY-MM}/: status (open, closing, closed), version, the
    close run's progress and the worklist counts (with its total: billing staff only)."""

    allowed_roles = REVENUE_READERS

    @extend_schema(responses=BillingMonthSerializer)
    def get(self, request: Request, month: str) -> Response:
        first = month_from_url(month)
        return Response(
            BillingMonthSerializer(billing_month_payload(request.user.practice, first)).data
        )


class BillingMonthCloseApi(APIView):
    """POST /api/billing-months/{YYYY-MM}/close/: 202 {status, task_id}; idempotent (a
    month closing or closed answers with its run)."""

    allowed_roles = {"POST": BILLING_STAFF}

    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT})
    def post(self, request: Request, month: str) -> Response:
        first = month_from_url(month)
        if first >= month_start(timezone.localdate()):
            raise ValidationError(
                {"month": [f"{first:%Y-%m} has not ended; close it once it has."]}
            )
        run, _ = billing_month_close_start(
            practice=request.user.practice, month=first, actor=request.user
        )
        status = BillingMonth.objects.get(practice=request.user.practice, month=first).status
        return Response(
            {
                "month": f"{first:%Y-%m}",
                "status": status,
                "task_id": str(run.task_id) if run else None,
            },
            status=202,
        )


class BillingMonthReopenApi(APIView):
    """POST /api/billing-months/{YYYY-MM}/reopen/ {reason}: billing or admin only."""

    allowed_roles = {"POST": BILLING_STAFF}

    @extend_schema(request=ReopenInputSerializer, responses=BillingMonthSerializer)
    def post(self, request: Request, month: str) -> Response:
        first = month_from_url(month)
        data = ReopenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reopen_month(
            practice=request.user.practice,
            month=first,
            actor=request.user,
            reason=data.validated_data["reason"],
        )
        return Response(
            BillingMonthSerializer(billing_month_payload(request.user.practice, first)).data
        )


def _worklist_query(request: Request) -> tuple[Any, Any]:
    params = request.query_params
    try:
        first = parse_month(params.get("month", ""))
    except ValueError as error:
        raise ValidationError({"month": [str(error)]}) from None
    for name in ("version", "practitioner"):
        if params.get(name) and not params[name].isdigit():
            raise ValidationError({name: ["Give a whole number."]})
    status = params.get("status") or None
    if status and status not in WorklistStatus.values:
        raise ValidationError({"status": [f"Choose one of {', '.join(WorklistStatus.values)}."]})
    tier = params.get("tier") or None
    if tier and tier not in {"complex", "non_complex", "practitioner", "none"}:
        raise ValidationError({"tier": ["Choose complex, non_complex, practitioner or none."]})
    rows = worklist_rows(
        practice=request.user.practice,
        month=first,
        version=int(params["version"]) if params.get("version") else None,
        status=status,
        tier=tier,
        practitioner_id=int(params["practitioner"]) if params.get("practitioner") else None,
        search=params.get("search", "")[:200],
    )
    return first, rows


WORKLIST_PARAMETERS = [
    OpenApiParameter("month", str, required=True),
    OpenApiParameter("version", int),
    OpenApiParameter("status", str, enum=WorklistStatus.values),
    OpenApiParameter("tier", str, enum=["complex", "non_complex", "practitioner", "none"]),
    OpenApiParameter("practitioner", int),
    OpenApiParameter("search", str, description="Words of the patient's name or MRN."),
]


class WorklistApi(ListAPIView):  # type: ignore[type-arg]
    """GET /api/worklist/?month=YYYY-MM: one row per patient of the month's close (the
    latest version unless `version` is given); filters status, tier, practitioner."""

    allowed_roles = REVENUE_READERS
    serializer_class = WorklistRowSerializer
    filter_backends = ()

    @extend_schema(parameters=WORKLIST_PARAMETERS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        _, rows = _worklist_query(self.request)
        return rows


class WorklistRowApi(APIView):
    """PATCH /api/worklist/{id}/ {status, denial_reason?}: billing staff move a claim to
    ready, submitted, paid or denied, and a needs_correction row (a re-close changed the
    lines of a claim that went out) to submitted once the correction is sent; audited.
    The row answers supersedes, previous_lines and correction_reason."""

    allowed_roles = {"GET": REVENUE_READERS, "PATCH": BILLING_STAFF}

    def _row(self, request: Request, pk: int) -> WorklistRow:
        return get_object_or_404(worklist_rows_any_version(request.user.practice), pk=pk)

    @extend_schema(responses=WorklistRowSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(WorklistRowSerializer(self._row(request, pk)).data)

    @extend_schema(request=RowStatusInputSerializer, responses=WorklistRowSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        row = self._row(request, pk)
        data = RowStatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        worklist_row_set_status(row=row, actor=request.user, **data.validated_data)
        return Response(WorklistRowSerializer(self._row(request, pk)).data)


class WorklistBulkStatusApi(APIView):
    """POST /api/worklist/bulk-status/ {ids, status: "submitted"}: billing staff mark the
    day's batch of claims submitted at once: all or none; each row of the practice's
    current close and allowed to move to submitted (else 400 naming each row that may
    not); every change audited per row."""

    allowed_roles = {"POST": BILLING_STAFF}

    @extend_schema(request=RowsStatusInputSerializer, responses=RowsStatusOutputSerializer)
    def post(self, request: Request) -> Response:
        data = RowsStatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        moved = worklist_rows_set_status(
            practice=request.user.practice,
            row_ids=data.validated_data["ids"],
            actor=request.user,
            status=data.validated_data["status"],
        )
        rows = worklist_rows_any_version(request.user.practice).filter(
            pk__in=[row.pk for row in moved]
        )
        return Response(RowsStatusOutputSerializer({"count": len(moved), "rows": rows}).data)


class WorklistExportApi(ExportApi):
    """GET /api/worklist/export/?month=YYYY-MM: text/csv (Accept: text/csv or */*), one row
    per claim line, the header of interface.md; written by PostgreSQL's COPY and streamed
    in 64 KB chunks (billing.worklist.export_csv_chunks). The export is audited (who took
    which month)."""

    allowed_roles = BILLING_STAFF
    renderer_classes = (CsvFormat,)

    @extend_schema(parameters=WORKLIST_PARAMETERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> StreamingHttpResponse:
        first, rows = _worklist_query(request)
        audit_record(
            actor=request.user,
            action="worklist.export",
            object_type="worklist",
            object_id=f"{first:%Y-%m}",
            after=dict(request.query_params.items()),
        )
        return self.stream(export_csv_chunks(rows), name=f"worklist-{first:%Y-%m}")
