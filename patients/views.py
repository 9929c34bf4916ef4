"""Patient pages: the list, registering and editing a patient, and one page with every
fact the billing engine reads about a patient, each with a small form that posts to the
same services as the API. Another practice's patient is a 404; a role that may not act
gets a 403."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ccm.audit import audit_read
from ccm.exceptions import PeriodClosed
from ccm.models import Practice, User
from ccm.views import role_required
from patients import selectors, services
from patients.forms import (
    OTHER_SERVICE_CODES,
    VISIT_CODES,
    CarePlanForm,
    ConditionForm,
    ConsentForm,
    ConsentRevokeForm,
    InpatientStayForm,
    OtherServiceForm,
    PatientEditForm,
    PatientForm,
    VisitForm,
    apply_service_errors,
)
from patients.icd10 import icd10_description
from patients.models import ChronicCondition, Patient
from patients.page_sections import leading_sections

PAGE_SIZE = 50


def _practice(request: HttpRequest) -> Practice:
    user: User = request.user  # type: ignore[assignment]
    practice: Practice = user.practice  # type: ignore[assignment]
    return practice


def _actor(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


def _attempt(form: forms.Form, call: Callable[[], object]) -> int | None:
    """Run a service for a valid form: None when it succeeded, else the HTTP status of
    the page that shows its errors (400 bad input, 409 closed month)."""
    try:
        call()
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return 400
    except PeriodClosed as exc:
        form.add_error(None, str(exc.detail))
        return 409
    return None


def _detail_url(patient: Patient, section: str = "") -> str:
    url = reverse("patient-detail", args=[patient.pk])
    return f"{url}#{section}" if section else url


def conditions_described(conditions: Iterable[ChronicCondition]) -> list[ChronicCondition]:
    """The conditions, each with a description: the one recorded, else the ICD-10-CM
    code set's (for the page only; the row is not changed)."""
    described = list(conditions)
    for condition in described:
        if not condition.description:
            condition.description = icd10_description(condition.icd10)
    return described


def _can(user: User) -> dict[str, bool]:
    role = user.role
    return {
        "edit_patient": role in services.PATIENT_WRITERS,
        "conditions": role in services.CONDITION_WRITERS,
        "consents": role in services.CONSENT_WRITERS,
        "visits": role in services.VISIT_WRITERS,
        "care_plan": role in services.CARE_PLAN_WRITERS,
        "sign_care_plan": role in services.CARE_PLAN_SIGNERS,
        "attest_chronic": role in services.CONDITION_ATTESTERS,
        "other_services": role in services.OTHER_SERVICE_WRITERS,
        "inpatient_stays": role in services.INPATIENT_STAY_WRITERS,
    }


# -- list, create, edit ----------------------------------------------------------------


@role_required(services.PATIENT_READERS)
def patient_list(request: HttpRequest) -> HttpResponse:
    """The practice's patients, searched by name or MRN."""
    search = request.GET.get("q", "").strip()
    patients = selectors.patient_list(practice=_practice(request), search=search)
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "patients/patient_list.html",
        {
            "page": page,
            "search": search,
            "can": _can(_actor(request)),
        },
    )


@role_required(services.PATIENT_WRITERS)
def patient_create(request: HttpRequest) -> HttpResponse:
    """Register a patient with their billing practitioner."""
    practice = _practice(request)
    form = PatientForm(request.POST or None, practice=practice)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            created: list[Patient] = []
            failed = _attempt(
                form,
                lambda: created.append(
                    services.patient_create(
                        practice=practice, actor=_actor(request), **form.cleaned_data
                    )
                ),
            )
            if failed is None:
                messages.success(request, f"{created[0].full_name} was registered.")
                return redirect(_detail_url(created[0]))
            status = failed
    return render(
        request, "patients/patient_form.html", {"form": form, "patient": None}, status=status
    )


@role_required(services.PATIENT_WRITERS)
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a patient's identity or billing practitioner, or mark them inactive."""
    practice = _practice(request)
    patient = selectors.patient_get(practice=practice, patient_id=pk)
    initial = {
        "mrn": patient.mrn,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "birth_date": patient.birth_date,
        "billing_practitioner": patient.billing_practitioner,
        "is_active": patient.is_active,
    }
    form = PatientEditForm(request.POST or None, initial=initial, practice=practice)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            failed = _attempt(
                form,
                lambda: services.patient_update(
                    patient=patient, actor=_actor(request), **form.cleaned_data
                ),
            )
            if failed is None:
                messages.success(request, "Patient saved.")
                return redirect(_detail_url(patient))
            status = failed
    return render(
        request, "patients/patient_form.html", {"form": form, "patient": patient}, status=status
    )


# -- the patient page ------------------------------------------------------------------


def _render_detail(
    request: HttpRequest, patient_id: int, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    """The patient page; `bound` replaces a blank add form by one that failed, so its
    errors show next to its fields."""
    practice = _practice(request)
    patient = selectors.patient_detail_get(practice=practice, patient_id=patient_id)
    bound = bound or {}
    consents = list(patient.consents.all())
    for consent in consents:
        key = f"revoke_form_{consent.pk}"
        consent.revoke_form = bound.get(key) or ConsentRevokeForm(  # type: ignore[attr-defined]
            prefix=f"revoke-{consent.pk}"
        )
    context = {
        "patient": patient,
        "leading_sections": leading_sections(request, patient),
        "conditions": conditions_described(patient.conditions.all()),
        "consents": consents,
        "visits": list(patient.visits.all()),
        "care_plan": selectors.patient_current_care_plan(patient),
        "other_services": list(patient.other_services.all()),
        "inpatient_stays": list(patient.inpatient_stays.all()),
        "condition_form": bound.get("condition_form") or ConditionForm(prefix="condition"),
        "consent_form": bound.get("consent_form")
        or ConsentForm(prefix="consent", practice=practice),
        "visit_form": bound.get("visit_form")
        or VisitForm(
            prefix="visit",
            practice=practice,
            initial={"practitioner": services.visit_default_practitioner(_actor(request))},
        ),
        "other_service_form": bound.get("other_service_form") or OtherServiceForm(prefix="service"),
        "inpatient_stay_form": bound.get("inpatient_stay_form") or InpatientStayForm(prefix="stay"),
        "visit_codes": VISIT_CODES,
        "other_service_codes": OTHER_SERVICE_CODES,
        "can": _can(_actor(request)),
    }
    return render(request, "patients/patient_detail.html", context, status=status)


@role_required(services.PATIENT_READERS)
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Every fact about one patient that decides their CCM billing (the read is audited)."""
    response = _render_detail(request, pk)
    patient = selectors.patient_get(practice=_practice(request), patient_id=pk)
    audit_read(actor=request.user, instance=patient, what="page:patient-detail")  # type: ignore[arg-type]
    return response


def _add_fact(
    request: HttpRequest,
    pk: int,
    *,
    form_name: str,
    form: forms.Form,
    write: Callable[[Patient, dict[str, Any]], object],
    section: str,
    done: str,
) -> HttpResponse:
    """Post one add form of the patient page to its service: back to the page's section
    when it worked, the page with the form's errors when not."""
    patient = selectors.patient_get(practice=_practice(request), patient_id=pk)
    status = 400
    if form.is_valid():
        failed = _attempt(form, lambda: write(patient, form.cleaned_data))
        if failed is None:
            messages.success(request, done)
            return redirect(_detail_url(patient, section))
        status = failed
    return _render_detail(request, patient.pk, {form_name: form}, status=status)


@role_required(services.CONDITION_WRITERS)
@require_POST
def condition_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _add_fact(
        request,
        pk,
        form_name="condition_form",
        form=ConditionForm(request.POST, prefix="condition"),
        write=lambda patient, data: services.condition_create(
            patient=patient, actor=_actor(request), **data
        ),
        section="conditions",
        done="Condition added.",
    )


@role_required(services.CONDITION_WRITERS)
def condition_edit(request: HttpRequest, pk: int, cid: int) -> HttpResponse:
    """Correct a condition, or set the date it resolved."""
    patient = selectors.patient_get(practice=_practice(request), patient_id=pk)
    condition = selectors.condition_get(patient=patient, condition_id=cid)
    initial = {
        "icd10": condition.icd10,
        "description": condition.description,
        "onset": condition.onset,
        "resolved": condition.resolved,
    }
    form = ConditionForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            failed = _attempt(
                form,
                lambda: services.condition_update(
                    condition=condition,
                    actor=_actor(request),
                    icd10=data["icd10"],
                    description=data["description"],
                    onset=data["onset"],
                    resolved=data["resolved"],
                    clear_resolved=data["resolved"] is None,
                ),
            )
            if failed is None:
                messages.success(request, "Condition saved.")
                return redirect(_detail_url(patient, "conditions"))
            status = failed
    return render(
        request,
        "patients/condition_form.html",
        {"form": form, "patient": patient, "condition": condition},
        status=status,
    )


@role_required(services.CONDITION_WRITERS)
@require_POST
def condition_delete(request: HttpRequest, pk: int, cid: int) -> HttpResponse:
    patient = selectors.patient_get(practice=_practice(request), patient_id=pk)
    condition = selectors.condition_get(patient=patient, condition_id=cid)
    try:
        services.condition_delete(condition=condition, actor=_actor(request))
    except PeriodClosed as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, "Condition deleted.")
    return redirect(_detail_url(patient, "conditions"))


@role_required(services.CONDITION_ATTESTERS)
@require_POST
def condition_attest_chronic(request: HttpRequest, pk: int, cid: int) -> HttpResponse:
    """A practitioner attests that a condition is chronic (`withdraw` set: withdraws the
    attestation); billing rule CONDITION_NOT_CHRONIC, audited by the service."""
    patient = selectors.patient_get(practice=_practice(request), patient_id=pk)
    condition = selectors.condition_get(patient=patient, condition_id=cid)
    withdraw = bool(request.POST.get("withdraw"))
    change = services.condition_withdraw_chronic if withdraw else services.condition_attest_chronic
    try:
        change(condition=condition, actor=_actor(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PeriodClosed as exc:
        messages.error(request, str(exc.detail))
    else:
        done = "withdrawn" if withdraw else "recorded"
        messages.success(request, f"Chronic attestation of {condition.icd10} {done}.")
    return redirect(_detail_url(patient, "conditions"))


@role_required(services.CONSENT_WRITERS)
@require_POST
def consent_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _add_fact(
        request,
        pk,
        form_name="consent_form",
        form=ConsentForm(request.POST, prefix="consent", practice=_practice(request)),
        write=lambda patient, data: services.consent_create(
            patient=patient, actor=_actor(request), **data
        ),
        section="consents",
        done="Consent recorded.",
    )


@role_required(services.CONSENT_WRITERS)
@require_POST
def consent_revoke(request: HttpRequest, pk: int, cid: int) -> HttpResponse:
    patient = selectors.patient_get(practice=_practice(request), patient_id=pk)
    consent = selectors.consent_get(patient=patient, consent_id=cid)
    return _add_fact(
        request,
        pk,
        form_name=f"revoke_form_{consent.pk}",
        form=ConsentRevokeForm(request.POST, prefix=f"revoke-{consent.pk}"),
        write=lambda patient, data: services.consent_revoke(
            consent=consent, actor=_actor(request), **data
        ),
        section="consents",
        done="Consent revoked.",
    )


@role_required(services.VISIT_WRITERS)
@require_POST
def visit_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _add_fact(
        request,
        pk,
        form_name="visit_form",
        form=VisitForm(request.POST, prefix="visit", practice=_practice(request)),
        write=lambda patient, data: services.visit_create(
            patient=patient, actor=_actor(request), **data
        ),
        section="visits",
        done="Visit recorded.",
    )


@role_required(services.OTHER_SERVICE_WRITERS)
@require_POST
def other_service_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _add_fact(
        request,
        pk,
        form_name="other_service_form",
        form=OtherServiceForm(request.POST, prefix="service"),
        write=lambda patient, data: services.other_service_create(
            patient=patient, actor=_actor(request), **data
        ),
        section="other-services",
        done="Service billed elsewhere recorded.",
    )


@role_required(services.OTHER_SERVICE_WRITERS)
@require_POST
def other_service_delete(request: HttpRequest, pk: int, sid: int) -> HttpResponse:
    patient = selectors.patient_get(practice=_practice(request), patient_id=pk)
    service = selectors.other_service_get(patient=patient, service_id=sid)
    try:
        services.other_service_delete(service=service, actor=_actor(request))
    except PeriodClosed as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, "Service deleted.")
    return redirect(_detail_url(patient, "other-services"))


@role_required(services.INPATIENT_STAY_WRITERS)
@require_POST
def inpatient_stay_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _add_fact(
        request,
        pk,
        form_name="inpatient_stay_form",
        form=InpatientStayForm(request.POST, prefix="stay"),
        write=lambda patient, data: services.inpatient_stay_create(
            patient=patient, actor=_actor(request), **data
        ),
        section="inpatient-stays",
        done="Inpatient stay recorded.",
    )


@role_required(services.INPATIENT_STAY_WRITERS)
@require_POST
def inpatient_stay_delete(request: HttpRequest, pk: int, sid: int) -> HttpResponse:
    patient = selectors.patient_get(practice=_practice(request), patient_id=pk)
    stay = selectors.inpatient_stay_get(patient=patient, stay_id=sid)
    try:
        services.inpatient_stay_delete(stay=stay, actor=_actor(request))
    except PeriodClosed as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, "Inpatient stay deleted.")
    return redirect(_detail_url(patient, "inpatient-stays"))


# -- care plan -------------------------------------------------------------------------


@role_required(services.PATIENT_READERS)
def care_plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The care plan with its version history; saving writes a new version (roles that
    may not write see the history only)."""
    patient = selectors.patient_get(practice=_practice(request), patient_id=pk)
    actor = _actor(request)
    can = _can(actor)
    versions = list(selectors.care_plan_versions(patient=patient))
    current = versions[0] if versions else None
    initial: dict[str, Any] = {}
    if current is not None:
        initial = {
            field: getattr(current, field)
            for field in ("established", *services.CARE_PLAN_TEXT_FIELDS, "reviewed")
        }
    form = CarePlanForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if not can["care_plan"]:
            raise PermissionDenied("Your role may not change the care plan.")
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            failed = _attempt(
                form, lambda: services.care_plan_save(patient=patient, actor=actor, **data)
            )
            if failed is None:
                messages.success(request, "Care plan saved as a new version.")
                return redirect(reverse("care-plan-edit", args=[patient.pk]))
            status = failed
    return render(
        request,
        "patients/care_plan_form.html",
        {
            "patient": patient,
            "form": form,
            "versions": versions,
            "current": current,
            "can": can,
            "can_sign": can["sign_care_plan"] and actor.pk == patient.billing_practitioner_id,
        },
        status=status,
    )


@role_required(services.CARE_PLAN_SIGNERS)
@require_POST
def care_plan_sign(request: HttpRequest, pk: int) -> HttpResponse:
    patient = selectors.patient_get(practice=_practice(request), patient_id=pk)
    try:
        plan = services.care_plan_sign(patient=patient, actor=_actor(request))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"Care plan version {plan.version} signed.")
    return redirect(reverse("care-plan-edit", args=[patient.pk]))
