"""The patients API (interface.md): thin views that parse input with an explicit
serializer, call one service or selector, and present the result. Every lookup goes
through the caller's practice, so another practice's patient or record is a 404."""

from __future__ import annotations

from functools import cached_property
from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from ccm.audit import audit_read
from ccm.models import User
from ccm.permissions import caller_practice
from patients import selectors, services
from patients.models import (
    CarePlan,
    ChronicCondition,
    Consent,
    InpatientStay,
    OtherService,
    Patient,
    Visit,
)
from patients.serializers import (
    CarePlanInputSerializer,
    CarePlanOutputSerializer,
    ConditionInputSerializer,
    ConditionOutputSerializer,
    ConsentInputSerializer,
    ConsentOutputSerializer,
    ConsentRevokeInputSerializer,
    InpatientStayInputSerializer,
    InpatientStayOutputSerializer,
    OtherServiceInputSerializer,
    OtherServiceOutputSerializer,
    PatientCreateInputSerializer,
    PatientDetailOutputSerializer,
    PatientOutputSerializer,
    PatientUpdateInputSerializer,
    VisitInputSerializer,
    VisitOutputSerializer,
)


def _parse(
    serializer_class: type[serializers.Serializer], request: Request, partial: bool = False
) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, partial=partial, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _actor(request: Request) -> User:
    # RolePermission has already admitted only signed-in users of a practice.
    return cast(User, request.user)


class PatientScopedApi(generics.GenericAPIView):
    """A view under /api/patients/{patient_id}/: the patient is found in the caller's
    practice before anything else (404 otherwise)."""

    @cached_property
    def patient(self) -> Patient:
        return selectors.patient_get(
            practice=caller_practice(self.request), patient_id=int(self.kwargs["patient_id"])
        )

    def fake(self) -> bool:
        # drf-spectacular builds the schema without a signed-in user.
        return bool(getattr(self, "swagger_fake_view", False))


# -- patients --------------------------------------------------------------------------


class PatientListCreateApi(generics.ListAPIView):
    """The practice's patients (?search= name or MRN; ?billing_practitioner=id;
    ?is_active=true|false), and registering a patient."""

    allowed_roles = {"GET": services.PATIENT_READERS, "POST": services.PATIENT_WRITERS}
    serializer_class = PatientOutputSerializer
    filter_backends = ()

    def get_queryset(self) -> QuerySet[Patient]:
        if getattr(self, "swagger_fake_view", False):
            return Patient.objects.none()
        params = self.request.query_params
        practitioner = params.get("billing_practitioner", "")
        active = params.get("is_active", "").lower()
        return selectors.patient_list(
            practice=caller_practice(self.request),
            search=params.get("search", ""),
            billing_practitioner_id=int(practitioner) if practitioner.isdigit() else None,
            is_active={"true": True, "false": False}.get(active),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("search", OpenApiTypes.STR, description="Name or MRN words."),
            OpenApiParameter("billing_practitioner", OpenApiTypes.INT),
            OpenApiParameter("is_active", OpenApiTypes.BOOL),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        request=PatientCreateInputSerializer, responses={201: PatientDetailOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        practice = caller_practice(request)
        patient = services.patient_create(
            practice=practice,
            actor=_actor(request),
            **_parse(PatientCreateInputSerializer, request),
        )
        patient = selectors.patient_detail_get(practice=practice, patient_id=patient.pk)
        return Response(PatientDetailOutputSerializer(patient).data, status=status.HTTP_201_CREATED)


class PatientDetailApi(generics.GenericAPIView):
    """One patient with every billing fact: conditions, consents, visits, the current care
    plan, services billed elsewhere and inpatient stays."""

    allowed_roles = {"GET": services.PATIENT_READERS, "PATCH": services.PATIENT_WRITERS}
    serializer_class = PatientDetailOutputSerializer
    queryset = Patient.objects.none()

    def get(self, request: Request, pk: int) -> Response:
        patient = selectors.patient_detail_get(practice=caller_practice(request), patient_id=pk)
        audit_read(actor=request.user, instance=patient, what="api:patient-detail")
        return Response(PatientDetailOutputSerializer(patient).data)

    @extend_schema(
        request=PatientUpdateInputSerializer, responses={200: PatientDetailOutputSerializer}
    )
    def patch(self, request: Request, pk: int) -> Response:
        practice = caller_practice(request)
        patient = selectors.patient_get(practice=practice, patient_id=pk)
        services.patient_update(
            patient=patient,
            actor=_actor(request),
            **_parse(PatientUpdateInputSerializer, request, partial=True),
        )
        patient = selectors.patient_detail_get(practice=practice, patient_id=pk)
        return Response(PatientDetailOutputSerializer(patient).data)


# -- chronic conditions ----------------------------------------------------------------


class ConditionListCreateApi(PatientScopedApi, generics.ListAPIView):
    """The patient's chronic conditions; adding one (a billable ICD-10-CM code)."""

    allowed_roles = {"GET": services.PATIENT_READERS, "POST": services.CONDITION_WRITERS}
    serializer_class = ConditionOutputSerializer

    def get_queryset(self) -> QuerySet[ChronicCondition]:
        if self.fake():
            return ChronicCondition.objects.none()
        return selectors.condition_list(patient=self.patient)

    @extend_schema(request=ConditionInputSerializer, responses={201: ConditionOutputSerializer})
    def post(self, request: Request, patient_id: int) -> Response:
        condition = services.condition_create(
            patient=self.patient, actor=_actor(request), **_parse(ConditionInputSerializer, request)
        )
        return Response(ConditionOutputSerializer(condition).data, status=status.HTTP_201_CREATED)


class ConditionDetailApi(PatientScopedApi):
    """One chronic condition: read, correct (PATCH; "resolved": null makes it active
    again) or delete one recorded in error."""

    allowed_roles = {
        "GET": services.PATIENT_READERS,
        "PATCH": services.CONDITION_WRITERS,
        "DELETE": services.CONDITION_WRITERS,
    }
    serializer_class = ConditionOutputSerializer
    queryset = ChronicCondition.objects.none()

    def condition(self, pk: int) -> ChronicCondition:
        return selectors.condition_get(patient=self.patient, condition_id=pk)

    def get(self, request: Request, patient_id: int, pk: int) -> Response:
        return Response(ConditionOutputSerializer(self.condition(pk)).data)

    @extend_schema(request=ConditionInputSerializer, responses={200: ConditionOutputSerializer})
    def patch(self, request: Request, patient_id: int, pk: int) -> Response:
        condition = self.condition(pk)
        data = _parse(ConditionInputSerializer, request, partial=True)
        clear_resolved = "resolved" in data and data["resolved"] is None
        if clear_resolved:
            del data["resolved"]
        services.condition_update(
            condition=condition, actor=_actor(request), clear_resolved=clear_resolved, **data
        )
        return Response(ConditionOutputSerializer(condition).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, patient_id: int, pk: int) -> Response:
        services.condition_delete(condition=self.condition(pk), actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConditionAttestChronicApi(PatientScopedApi):
    """A practitioner attests that the condition is chronic (POST) or withdraws the
    attestation (DELETE); both answer the condition."""

    allowed_roles = {
        "POST": services.CONDITION_ATTESTERS,
        "DELETE": services.CONDITION_ATTESTERS,
    }
    serializer_class = ConditionOutputSerializer
    queryset = ChronicCondition.objects.none()

    def condition(self, pk: int) -> ChronicCondition:
        return selectors.condition_get(patient=self.patient, condition_id=pk)

    @extend_schema(request=None, responses={200: ConditionOutputSerializer})
    def post(self, request: Request, patient_id: int, pk: int) -> Response:
        condition = services.condition_attest_chronic(
            condition=self.condition(pk), actor=_actor(request)
        )
        return Response(ConditionOutputSerializer(condition).data)

    @extend_schema(request=None, responses={200: ConditionOutputSerializer})
    def delete(self, request: Request, patient_id: int, pk: int) -> Response:
        condition = services.condition_withdraw_chronic(
            condition=self.condition(pk), actor=_actor(request)
        )
        return Response(ConditionOutputSerializer(condition).data)


# -- consents --------------------------------------------------------------------------


class ConsentListCreateApi(PatientScopedApi, generics.ListAPIView):
    """The patient's consents to CCM; recording one (all four disclosures made)."""

    allowed_roles = {"GET": services.PATIENT_READERS, "POST": services.CONSENT_WRITERS}
    serializer_class = ConsentOutputSerializer

    def get_queryset(self) -> QuerySet[Consent]:
        if self.fake():
            return Consent.objects.none()
        return selectors.consent_list(patient=self.patient)

    @extend_schema(request=ConsentInputSerializer, responses={201: ConsentOutputSerializer})
    def post(self, request: Request, patient_id: int) -> Response:
        consent = services.consent_create(
            patient=self.patient, actor=_actor(request), **_parse(ConsentInputSerializer, request)
        )
        return Response(ConsentOutputSerializer(consent).data, status=status.HTTP_201_CREATED)


class ConsentRevokeApi(PatientScopedApi):
    """Record that the patient withdrew a consent."""

    allowed_roles = {"POST": services.CONSENT_WRITERS}
    serializer_class = ConsentOutputSerializer
    queryset = Consent.objects.none()

    @extend_schema(request=ConsentRevokeInputSerializer, responses={200: ConsentOutputSerializer})
    def post(self, request: Request, patient_id: int, pk: int) -> Response:
        consent = selectors.consent_get(patient=self.patient, consent_id=pk)
        services.consent_revoke(
            consent=consent, actor=_actor(request), **_parse(ConsentRevokeInputSerializer, request)
        )
        return Response(ConsentOutputSerializer(consent).data)


# -- visits ----------------------------------------------------------------------------


class VisitListCreateApi(PatientScopedApi, generics.ListAPIView):
    """The patient's face-to-face visits; recording one."""

    allowed_roles = {"GET": services.PATIENT_READERS, "POST": services.VISIT_WRITERS}
    serializer_class = VisitOutputSerializer

    def get_queryset(self) -> QuerySet[Visit]:
        if self.fake():
            return Visit.objects.none()
        return selectors.visit_list(patient=self.patient)

    @extend_schema(request=VisitInputSerializer, responses={201: VisitOutputSerializer})
    def post(self, request: Request, patient_id: int) -> Response:
        actor = _actor(request)
        data = _parse(VisitInputSerializer, request)
        if "practitioner" not in data:
            data["practitioner"] = services.visit_default_practitioner(actor)
        visit = services.visit_create(patient=self.patient, actor=actor, **data)
        return Response(VisitOutputSerializer(visit).data, status=status.HTTP_201_CREATED)


# -- care plan -------------------------------------------------------------------------


class CarePlanApi(PatientScopedApi):
    """The current care plan (404 when there is none); PUT writes a new version (201 for
    the first, 200 after) and keeps the earlier ones."""

    allowed_roles = {"GET": services.PATIENT_READERS, "PUT": services.CARE_PLAN_WRITERS}
    serializer_class = CarePlanOutputSerializer
    queryset = CarePlan.objects.none()

    def get(self, request: Request, patient_id: int) -> Response:
        return Response(
            CarePlanOutputSerializer(selectors.care_plan_current(patient=self.patient)).data
        )

    @extend_schema(
        request=CarePlanInputSerializer,
        responses={200: CarePlanOutputSerializer, 201: CarePlanOutputSerializer},
    )
    def put(self, request: Request, patient_id: int) -> Response:
        plan = services.care_plan_save(
            patient=self.patient, actor=_actor(request), **_parse(CarePlanInputSerializer, request)
        )
        return Response(
            CarePlanOutputSerializer(plan).data,
            status=status.HTTP_201_CREATED if plan.version == 1 else status.HTTP_200_OK,
        )


class CarePlanVersionListApi(PatientScopedApi, generics.ListAPIView):
    """Every version of the patient's care plan, newest first."""

    allowed_roles = {"GET": services.PATIENT_READERS}
    serializer_class = CarePlanOutputSerializer

    def get_queryset(self) -> QuerySet[CarePlan]:
        if self.fake():
            return CarePlan.objects.none()
        return selectors.care_plan_versions(patient=self.patient)


class CarePlanSignApi(PatientScopedApi):
    """A practitioner signs the current care plan version."""

    allowed_roles = {"POST": services.CARE_PLAN_SIGNERS}
    serializer_class = CarePlanOutputSerializer
    queryset = CarePlan.objects.none()

    @extend_schema(request=None, responses={200: CarePlanOutputSerializer})
    def post(self, request: Request, patient_id: int) -> Response:
        plan = services.care_plan_sign(patient=self.patient, actor=_actor(request))
        return Response(CarePlanOutputSerializer(plan).data)


# -- services billed elsewhere ---------------------------------------------------------


class OtherServiceListCreateApi(PatientScopedApi, generics.ListAPIView):
    """The patient's services billed elsewhere; recording one."""

    allowed_roles = {"GET": services.PATIENT_READERS, "POST": services.OTHER_SERVICE_WRITERS}
    serializer_class = OtherServiceOutputSerializer

    def get_queryset(self) -> QuerySet[OtherService]:
        if self.fake():
            return OtherService.objects.none()
        return selectors.other_service_list(patient=self.patient)

    @extend_schema(
        request=OtherServiceInputSerializer, responses={201: OtherServiceOutputSerializer}
    )
    def post(self, request: Request, patient_id: int) -> Response:
        service = services.other_service_create(
            patient=self.patient,
            actor=_actor(request),
            **_parse(OtherServiceInputSerializer, request),
        )
        return Response(OtherServiceOutputSerializer(service).data, status=status.HTTP_201_CREATED)


class OtherServiceDetailApi(PatientScopedApi):
    """One service billed elsewhere: read it, or delete one recorded in error."""

    allowed_roles = {"GET": services.PATIENT_READERS, "DELETE": services.OTHER_SERVICE_WRITERS}
    serializer_class = OtherServiceOutputSerializer
    queryset = OtherService.objects.none()

    def get(self, request: Request, patient_id: int, pk: int) -> Response:
        service = selectors.other_service_get(patient=self.patient, service_id=pk)
        return Response(OtherServiceOutputSerializer(service).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, patient_id: int, pk: int) -> Response:
        service = selectors.other_service_get(patient=self.patient, service_id=pk)
        services.other_service_delete(service=service, actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- inpatient stays -------------------------------------------------------------------


class InpatientStayListCreateApi(PatientScopedApi, generics.ListAPIView):
    """The patient's inpatient hospital and skilled nursing stays; recording one."""

    allowed_roles = {"GET": services.PATIENT_READERS, "POST": services.INPATIENT_STAY_WRITERS}
    serializer_class = InpatientStayOutputSerializer

    def get_queryset(self) -> QuerySet[InpatientStay]:
        if self.fake():
            return InpatientStay.objects.none()
        return selectors.inpatient_stay_list(patient=self.patient)

    @extend_schema(
        request=InpatientStayInputSerializer, responses={201: InpatientStayOutputSerializer}
    )
    def post(self, request: Request, patient_id: int) -> Response:
        stay = services.inpatient_stay_create(
            patient=self.patient,
            actor=_actor(request),
            **_parse(InpatientStayInputSerializer, request),
        )
        return Response(InpatientStayOutputSerializer(stay).data, status=status.HTTP_201_CREATED)


class InpatientStayDetailApi(PatientScopedApi):
    """One inpatient stay: read it, or delete one recorded in error."""

    allowed_roles = {"GET": services.PATIENT_READERS, "DELETE": services.INPATIENT_STAY_WRITERS}
    serializer_class = InpatientStayOutputSerializer
    queryset = InpatientStay.objects.none()

    def get(self, request: Request, patient_id: int, pk: int) -> Response:
        stay = selectors.inpatient_stay_get(patient=self.patient, stay_id=pk)
        return Response(InpatientStayOutputSerializer(stay).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, patient_id: int, pk: int) -> Response:
        stay = selectors.inpatient_stay_get(patient=self.patient, stay_id=pk)
        services.inpatient_stay_delete(stay=stay, actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
