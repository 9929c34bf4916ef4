"""Admin: read-only views of patient records. Every change goes through the services
(validation, period lock, audit log), so the admin neither adds, changes nor deletes."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from patients.models import (
    CarePlan,
    ChronicCondition,
    Consent,
    InpatientStay,
    OtherService,
    Patient,
    Visit,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ConditionInline(ReadOnlyInline):
    model = ChronicCondition
    fields = ("icd10", "description", "onset", "resolved")


class ConsentInline(ReadOnlyInline):
    model = Consent
    fields = ("date", "method", "billing_practitioner", "revoked", "revoked_reason")


class VisitInline(ReadOnlyInline):
    model = Visit
    fields = ("date", "code", "ccm_discussed", "practitioner")


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
    list_display = (
        "last_name",
        "first_name",
        "mrn",
        "birth_date",
        "billing_practitioner",
        "practice",
        "is_active",
    )
    list_filter = ("practice", "is_active")
    search_fields = ("last_name", "first_name", "mrn")
    list_select_related = ("billing_practitioner", "practice")
    inlines = (ConditionInline, ConsentInline, VisitInline)


@admin.register(ChronicCondition)
class ChronicConditionAdmin(ReadOnlyAdmin):
    list_display = ("patient", "icd10", "description", "onset", "resolved")
    search_fields = ("icd10", "patient__mrn", "patient__last_name")
    list_select_related = ("patient",)


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ("patient", "date", "method", "billing_practitioner", "revoked")
    search_fields = ("patient__mrn", "patient__last_name")
    list_select_related = ("patient", "billing_practitioner")


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = ("patient", "date", "code", "ccm_discussed", "practitioner")
    search_fields = ("code", "patient__mrn", "patient__last_name")
    list_select_related = ("patient", "practitioner")


@admin.register(CarePlan)
class CarePlanAdmin(ReadOnlyAdmin):
    list_display = ("patient", "version", "established", "signed_by", "signed_at", "created_at")
    search_fields = ("patient__mrn", "patient__last_name")
    list_select_related = ("patient", "signed_by")


@admin.register(OtherService)
class OtherServiceAdmin(ReadOnlyAdmin):
    list_display = ("patient", "code", "date", "practitioner_npi")
    search_fields = ("code", "patient__mrn", "patient__last_name")
    list_select_related = ("patient",)


@admin.register(InpatientStay)
class InpatientStayAdmin(ReadOnlyAdmin):
    list_display = ("patient", "admitted", "discharged", "kind", "facility")
    search_fields = ("facility", "patient__mrn", "patient__last_name")
    list_select_related = ("patient",)
