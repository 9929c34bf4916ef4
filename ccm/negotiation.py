"""Content negotiation: DRF's, with its answer for what API clients send given at once.
The streamed exports' formats are negotiated by it too (ccm/exports.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

JSON = "application/json"
#: Accept headers whose negotiation picks the first renderer when it renders JSON.
JSON_FIRST_ACCEPTS = frozenset({JSON, "*/*"})


class JSONFirstNegotiation(DefaultContentNegotiation):
    """DRF's DefaultContentNegotiation, which parses the Accept header and matches it with
    every renderer on each request. When no format is asked for (a suffix or ?format=),
    the first renderer renders JSON and the client accepts JSON or anything (or sends no
    Accept), the answer is known: that renderer, as JSON. Anything else is negotiated in
    full. Enabled by REST_FRAMEWORK["DEFAULT_CONTENT_NEGOTIATION_CLASS"]."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[Any, str]:
        renderers = list(renderers)
        format_asked = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        json_first = bool(renderers) and renderers[0].media_type == JSON
        accepts_json = request.META.get("HTTP_ACCEPT", "*/*") in JSON_FIRST_ACCEPTS
        if json_first and accepts_json and not format_asked:
            return renderers[0], JSON
        return super().select_renderer(request, renderers, format_suffix)  # type: ignore[no-any-return]
