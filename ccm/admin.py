from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from ccm.models import AuditEvent, Practice, User


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(User)
class CcmUserAdmin(UserAdmin):
    list_display = ("username", "full_name", "role", "practice", "credential", "npi")
    list_filter = ("role", "practice")
    fieldsets = (
        *UserAdmin.fieldsets,  # type: ignore[misc]
        ("Practice and role", {"fields": ("practice", "role", "full_name", "credential", "npi")}),
    )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "object_type", "object_id", "practice")
    list_filter = ("action", "object_type")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
