"""Streamed exports (the worklist's CSV; the 837P's X12 and the FHIR Bundle of the claims
branch): one StreamedFormat per media type, picked from the Accept header by the API's
content negotiation (ccm.negotiation) among what an ExportApi offers, and streamed in
chunks.

An export endpoint: `class Export837pApi(ExportApi)` with `renderer_classes =
(X12Format,)` and a `get` that returns `self.stream(pieces, name="claims-2026-03")`,
`pieces` being the text of the file in order (str, or bytes already encoded). `*/*` (or
no Accept) gets the first format listed; a format not offered is a 406; every error is
JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ccm.negotiation import JSON


class StreamedFormat(BaseRenderer):
    """One format of a streamed export: DRF's negotiation picks it by the Accept header
    (or ?format=<format>) among an ExportApi's `renderer_classes`; the view then streams
    text pieces through `response`, which sends them in chunks of about `chunk_bytes`
    (never one row per write). A new format is a subclass naming its media type, its
    ?format= name and its file extension."""

    media_type = "application/octet-stream"
    format = ""
    extension = "txt"
    charset = "utf-8"
    chunk_bytes = 64 * 1024

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        raise NotImplementedError("An export streams through response(); its errors are JSON.")

    def chunks(self, pieces: Iterable[str | bytes]) -> Iterator[bytes]:
        """The text pieces, encoded, joined into chunks of at least `chunk_bytes` (the last
        may be shorter). A bytes piece is a chunk its producer made (in `charset`): sent
        as it is, in its turn."""
        buffer: list[bytes] = []
        size = 0
        for piece in pieces:
            if isinstance(piece, bytes):
                if buffer:
                    yield b"".join(buffer)
                    buffer, size = [], 0
                yield piece
                continue
            encoded = piece.encode(self.charset)
            buffer.append(encoded)
            size += len(encoded)
            if size >= self.chunk_bytes:
                yield b"".join(buffer)
                buffer, size = [], 0
        if buffer:
            yield b"".join(buffer)

    def response(self, pieces: Iterable[str | bytes], *, filename: str) -> StreamingHttpResponse:
        """The streamed answer, offered as a download named `filename`.<extension>."""
        response = StreamingHttpResponse(self.chunks(pieces), content_type=self.media_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}.{self.extension}"'
        return response


class CsvFormat(StreamedFormat):
    media_type = "text/csv"
    format = "csv"
    extension = "csv"


class X12Format(StreamedFormat):
    """ASC X12 (the 837P professional claim), RFC 1767's media type."""

    media_type = "application/edi-x12"
    format = "x12"
    extension = "x12"


class FhirJsonFormat(StreamedFormat):
    """A FHIR resource (a Bundle) as JSON, FHIR's media type."""

    media_type = "application/fhir+json"
    format = "fhir"
    extension = "json"


class ExportApi(APIView):
    """Base of the export endpoints. `renderer_classes` lists the StreamedFormats the
    endpoint offers, the first answering `*/*` (or no Accept); anything it does not offer
    is a 406. Every error (406, 400, 403...) answers JSON whatever was asked, like the
    rest of the API. The view returns `self.stream(pieces, name=...)`."""

    renderer_classes: Any = (CsvFormat,)

    def handle_exception(self, exc: Exception) -> Response:
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSON
        return super().handle_exception(exc)

    def stream(self, pieces: Iterable[str | bytes], *, name: str) -> StreamingHttpResponse:
        """Answer `pieces` (text, or bytes in the format's charset, in order) in the
        negotiated format, as file `name`."""
        export_format = self.request.accepted_renderer
        assert isinstance(export_format, StreamedFormat)  # noqa: S101 (renderer_classes)
        return export_format.response(pieces, filename=name)
