"""Template context every page shares."""

from __future__ import annotations

from django.http import HttpRequest

from ccm.capabilities import capabilities_of


def capabilities(request: HttpRequest) -> dict[str, dict[str, bool]]:
    """`caps`: the signed-in user's capabilities (ccm.capabilities), so templates show a
    link or a figure by what the role may do (`{% if caps.see_revenue %}`), never by
    role names."""
    user = getattr(request, "user", None)
    return {"caps": {capability.value: True for capability in capabilities_of(user)}}
