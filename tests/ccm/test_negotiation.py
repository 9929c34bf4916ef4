"""JSONFirstNegotiation picks what DRF's DefaultContentNegotiation picks, for every Accept
header, format asked for and list of renderers, and is the API's negotiation."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import (
    BaseRenderer,
    BrowsableAPIRenderer,
    JSONRenderer,
    StaticHTMLRenderer,
)
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.test import APIRequestFactory

from ccm.negotiation import JSONFirstNegotiation


class VersionedJSONRenderer(JSONRenderer):
    media_type = "application/json; version=2"


class AnythingRenderer(BaseRenderer):
    media_type = "*/*"
    format = "any"


ACCEPTS = [
    None,
    "application/json",
    "*/*",
    "application/json; indent=4",
    "application/json, text/html",
    "text/html",
    "text/html, */*;q=0.1",
    "application/*",
    "application/xml",
    " application/json",
    "",
]
RENDERER_LISTS = [
    [JSONRenderer, BrowsableAPIRenderer],
    [BrowsableAPIRenderer, JSONRenderer],
    [VersionedJSONRenderer, JSONRenderer],
    [AnythingRenderer, JSONRenderer],
    [StaticHTMLRenderer],
    [],
]
FORMATS: list[tuple[str | None, str]] = [(None, ""), ("json", ""), (None, "?format=api")]


def pick(negotiation: Any, accept: str | None, renderers: list[Any], fmt: Any) -> Any:
    suffix, query = fmt
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/time-entries/{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(
            request, [cls() for cls in renderers], suffix
        )
    except (NotAcceptable, Http404) as error:  # nothing acceptable; no renderer for a format
        return type(error).__name__
    return type(renderer), media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("renderers", RENDERER_LISTS, ids=lambda r: "-".join(c.__name__ for c in r))
@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_picks_what_drfs_negotiation_picks(
    accept: str | None, renderers: list[Any], fmt: tuple[str | None, str]
) -> None:
    expected = pick(DefaultContentNegotiation(), accept, renderers, fmt)
    assert pick(JSONFirstNegotiation(), accept, renderers, fmt) == expected


def test_it_is_the_apis_negotiation() -> None:
    assert api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS is JSONFirstNegotiation
