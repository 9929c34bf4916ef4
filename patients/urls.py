"""URLs of the patients app: pages at the root, the API under api/ (interface.md)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from patients import api, claim_data, views
from patients.imports import api as import_api
from patients.imports import views as import_views

api_urlpatterns = [
    path("", api.PatientListCreateApi.as_view(), name="api-patients"),
    path("import/", import_api.PatientImportApi.as_view(), name="api-patient-import"),
    path("<int:pk>/", api.PatientDetailApi.as_view(), name="api-patient"),
    path(
        "<int:patient_id>/conditions/",
        api.ConditionListCreateApi.as_view(),
        name="api-patient-conditions",
    ),
    path(
        "<int:patient_id>/conditions/<int:pk>/",
        api.ConditionDetailApi.as_view(),
        name="api-patient-condition",
    ),
    path(
        "<int:patient_id>/conditions/<int:pk>/attest-chronic/",
        api.ConditionAttestChronicApi.as_view(),
        name="api-patient-condition-attest-chronic",
    ),
    path(
        "<int:patient_id>/consents/",
        api.ConsentListCreateApi.as_view(),
        name="api-patient-consents",
    ),
    path(
        "<int:patient_id>/consents/<int:pk>/revoke/",
        api.ConsentRevokeApi.as_view(),
        name="api-patient-consent-revoke",
    ),
    path("<int:patient_id>/visits/", api.VisitListCreateApi.as_view(), name="api-patient-visits"),
    path(
        "<int:patient_id>/claim-data/",
        claim_data.ClaimDataApi.as_view(),
        name="api-patient-claim-data",
    ),
    path("<int:patient_id>/care-plan/", api.CarePlanApi.as_view(), name="api-patient-care-plan"),
    path(
        "<int:patient_id>/care-plan/versions/",
        api.CarePlanVersionListApi.as_view(),
        name="api-patient-care-plan-versions",
    ),
    path(
        "<int:patient_id>/care-plan/sign/",
        api.CarePlanSignApi.as_view(),
        name="api-patient-care-plan-sign",
    ),
    path(
        "<int:patient_id>/other-services/",
        api.OtherServiceListCreateApi.as_view(),
        name="api-patient-other-services",
    ),
    path(
        "<int:patient_id>/other-services/<int:pk>/",
        api.OtherServiceDetailApi.as_view(),
        name="api-patient-other-service",
    ),
    path(
        "<int:patient_id>/inpatient-stays/",
        api.InpatientStayListCreateApi.as_view(),
        name="api-patient-inpatient-stays",
    ),
    path(
        "<int:patient_id>/inpatient-stays/<int:pk>/",
        api.InpatientStayDetailApi.as_view(),
        name="api-patient-inpatient-stay",
    ),
]

page_urlpatterns = [
    path("", views.patient_list, name="patient-list"),
    path("new/", views.patient_create, name="patient-create"),
    path("import/", import_views.patient_import, name="patient-import"),
    path("<int:pk>/", views.patient_detail, name="patient-detail"),
    path("<int:pk>/edit/", views.patient_edit, name="patient-edit"),
    path("<int:pk>/claim-data/", claim_data.patient_claim_data, name="patient-claim-data"),
    path("<int:pk>/conditions/add/", views.condition_add, name="patient-condition-add"),
    path(
        "<int:pk>/conditions/<int:cid>/edit/", views.condition_edit, name="patient-condition-edit"
    ),
    path(
        "<int:pk>/conditions/<int:cid>/delete/",
        views.condition_delete,
        name="patient-condition-delete",
    ),
    path(
        "<int:pk>/conditions/<int:cid>/attest-chronic/",
        views.condition_attest_chronic,
        name="patient-condition-attest-chronic",
    ),
    path("<int:pk>/consents/add/", views.consent_add, name="patient-consent-add"),
    path(
        "<int:pk>/consents/<int:cid>/revoke/", views.consent_revoke, name="patient-consent-revoke"
    ),
    path("<int:pk>/visits/add/", views.visit_add, name="patient-visit-add"),
    path("<int:pk>/other-services/add/", views.other_service_add, name="patient-other-service-add"),
    path(
        "<int:pk>/other-services/<int:sid>/delete/",
        views.other_service_delete,
        name="patient-other-service-delete",
    ),
    path(
        "<int:pk>/inpatient-stays/add/", views.inpatient_stay_add, name="patient-inpatient-stay-add"
    ),
    path(
        "<int:pk>/inpatient-stays/<int:sid>/delete/",
        views.inpatient_stay_delete,
        name="patient-inpatient-stay-delete",
    ),
    path("<int:pk>/care-plan/", views.care_plan_edit, name="care-plan-edit"),
    path("<int:pk>/care-plan/sign/", views.care_plan_sign, name="care-plan-sign"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/patients/", include(api_urlpatterns)),
    path("patients/", include(page_urlpatterns)),
]
