"""Every URL pattern of the site, read from Django's resolver, with what the security
tests need to know about it: API or page, the roles its view declares, and how to fill
its path parameters with real objects."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from ccm.models import ALL_ROLES
from ccm.permissions import roles_for_method

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")

#: URL names open to anyone, signed in or not, and why.
PUBLIC = {
    "login": "the sign-in page",
    "logout": "signing out (Django's LogoutView; harmless when signed out)",
    "schema": "the OpenAPI document: no data, only the shape of the API",
    "api-docs": "Swagger UI over the OpenAPI document",
    "api-token": "exchanges a username and password for a token (locked out by axes)",
}
#: Pages every signed-in user may open, whatever the role (login_required, no role list).
FOR_EVERY_SIGNED_IN_USER = {"home", "password-choose"}

#: What a path parameter names, told by the literal segment before it:
#: patients/<pk>/, conditions/<cid>/, time/mine/<pk>/... (<month> is always a YYYY-MM).
KIND_BEFORE = {
    "patients": "patient",
    "conditions": "condition",
    "consents": "consent",
    "other-services": "other_service",
    "inpatient-stays": "stay",
    "time-entries": "time_entry",
    "mine": "time_entry",
    "worklist": "worklist_row",
    "users": "user",
}


@dataclass(frozen=True)
class Route:
    route: str  # as Django spells it: "api/patients/<int:patient_id>/conditions/"
    name: str
    callback: Callable[..., Any]

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def view_class(self) -> type | None:
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    @property
    def parameters(self) -> dict[str, str]:
        """Each path parameter and the kind of object it names."""
        kinds: dict[str, str] = {}
        for match in PARAMETER.finditer(self.route):
            before = self.route[: match.start()].rstrip("/").rsplit("/", 1)[-1]
            if match["name"] == "month":
                kinds["month"] = "month"
                continue
            if before not in KIND_BEFORE:
                raise AssertionError(
                    f"{self.route}: teach tests/security/routes.py KIND_BEFORE what "
                    f"{before}/<{match['name']}> names, so the walker can fill it"
                )
            kinds[match["name"]] = KIND_BEFORE[before]
        return kinds

    @property
    def names_objects(self) -> bool:
        """Whether the path names objects (not only a month): another practice gets 404."""
        return any(kind != "month" for kind in self.parameters.values())

    @property
    def openapi_path(self) -> str:
        """The path as the OpenAPI document writes it, with the parameter names blanked."""
        return "/" + PARAMETER.sub("{}", self.route)

    def url(self, values: dict[str, str]) -> str:
        return "/" + PARAMETER.sub(lambda match: values[match["name"]], self.route)

    def __str__(self) -> str:
        return f"/{self.route} ({self.name})"


def _walk(resolver: URLResolver, prefix: str) -> Iterator[Route | str]:
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                yield route  # the admin is checked apart
            else:
                yield from _walk(pattern, route)
        elif isinstance(pattern, URLPattern):
            if not pattern.name:
                raise AssertionError(f"/{route} has no name: name it so tests can refer to it")
            yield Route(route, pattern.name, pattern.callback)


def site_routes() -> list[Route]:
    """Every URL pattern outside the admin."""
    return [route for route in _walk(get_resolver(), "") if isinstance(route, Route)]


def admin_prefixes() -> list[str]:
    return [route for route in _walk(get_resolver(), "") if isinstance(route, str)]


# -- the roles a view declares ---------------------------------------------------------


def _wrappers(function: Callable[..., Any]) -> Iterator[dict[str, Any]]:
    """The closure variables of a page function and of each decorator around it."""
    while function is not None:
        yield inspect.getclosurevars(function).nonlocals
        function = getattr(function, "__wrapped__", None)


def page_roles(callback: Callable[..., Any]) -> Collection[str] | None:
    """The roles of ccm.views.role_required around a page; None when it has none."""
    for names in _wrappers(callback):
        if "roles" in names and "view" in names:
            roles: Collection[str] = names["roles"]
            return roles
    return None


def page_needs_sign_in(callback: Callable[..., Any]) -> bool:
    """Whether login_required (on its own or inside role_required) wraps the page."""
    return any("_redirect_to_login" in names for names in _wrappers(callback))


def page_methods(callback: Callable[..., Any]) -> Collection[str]:
    """The methods a page accepts (require_http_methods / require_POST), else all."""
    for names in _wrappers(callback):
        if "request_method_list" in names:
            methods: Collection[str] = names["request_method_list"]
            return methods
    return VERBS


def api_roles(view_class: type[APIView], method: str) -> Collection[str]:
    return roles_for_method(getattr(view_class, "allowed_roles", None), method)


def gate_roles(route: Route, method: str) -> Collection[str]:
    """The roles a route's permission gate lets through for `method`."""
    if route.is_api:
        assert route.view_class is not None
        return api_roles(route.view_class, method)
    roles = page_roles(route.callback)
    if roles is None:
        return ALL_ROLES if route.name in FOR_EVERY_SIGNED_IN_USER else ()
    return roles
