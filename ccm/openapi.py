"""The OpenAPI document's error answers (interface.md, Errors): 400 with field errors for
bad input, 401 without a valid token, 403 for a role that may not act, 404 for an object
the caller's practice does not hold, 409 for a change to a closed month.

drf-spectacular documents only each operation's success; this schema class adds the
errors an operation can answer, from what its view declares, so clients (and the
schemathesis run of tests/security) can rely on the document for every status code.
Enabled by REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "ccm.openapi.AutoSchema"."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ComponentRegistry
from rest_framework import serializers

from ccm.permissions import RolePermission

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
UNSAFE_METHODS = WRITE_METHODS | {"DELETE"}


class ErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Every error but bad input: {"detail": "..."}."""

    detail = serializers.CharField()


FIELD_ERRORS = {
    "type": "object",
    "description": "Each field in error (or non_field_errors) with its messages, or a detail.",
    "additionalProperties": True,
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, plus the error answers of each operation."""

    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: ComponentRegistry,
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            # Django's <int:...> converter matches digits only: no negative ids.
            if parameter["in"] == "path" and parameter["schema"].get("type") == "integer":
                parameter["schema"].setdefault("minimum", 0)
        for code, (body, description) in self.error_answers(operation).items():
            if str(code) not in operation["responses"]:
                answer = self._get_response_for_code(body, str(code))  # type: ignore[no-untyped-call]
                operation["responses"][str(code)] = {
                    **answer,
                    **self.as_json(answer),
                    "description": description,
                }
        return operation

    @staticmethod
    def as_json(answer: dict[str, Any]) -> dict[str, Any]:
        """Errors are JSON whatever the operation's own format (ccm.negotiation.ExportApi):
        the answer's schema under application/json only."""
        content = answer.get("content") or {}
        if not content or "application/json" in content:
            return {}
        return {"content": {"application/json": next(iter(content.values()))}}

    def error_answers(self, operation: dict[str, Any]) -> dict[int, tuple[Any, str]]:
        parameters = operation.get("parameters", [])
        # Any query parameter can be bad input: a filter's value, or text that cannot be
        # stored in any of them (ccm.middleware.InputGuardMiddleware).
        query = [p for p in parameters if p["in"] == "query"]
        guarded = RolePermission in getattr(self.view, "permission_classes", ())
        answers: dict[int, tuple[Any, str]] = {}
        if self.method in WRITE_METHODS or query:
            answers[400] = (FIELD_ERRORS, "Bad input: the fields in error and why.")
        if guarded:
            answers[401] = (ErrorSerializer, "No valid token (or session).")
            answers[403] = (ErrorSerializer, "The caller's role may not do this.")
        if any(p["in"] == "path" or p["name"] == "page" for p in parameters):
            answers[404] = (ErrorSerializer, "Not in the caller's practice (or no such page).")
        if guarded and self.method in UNSAFE_METHODS:
            answers[409] = (ErrorSerializer, "The billing month is closed or closing.")
        return answers
