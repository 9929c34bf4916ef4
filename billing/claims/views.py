"""The month's packets page: the ZIP of every billable claim's audit packet, streamed at
once for a small month, built by a worker for a large one (the page shows its progress
and refreshes itself until the ZIP is ready)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from billing.claims.api import CLAIM_EXPORTERS
from billing.claims.archives import INLINE_PACKETS, month_packet_rows, packet_archive_request
from billing.worklist import current_version
from ccm.models import Practice, User
from ccm.periods import parse_month
from ccm.views import role_required


@role_required(CLAIM_EXPORTERS)
def month_packets(request: HttpRequest, month: str) -> HttpResponse:
    """Download the month's packets (billing.claims.archives: inline or by a worker)."""
    user: User = request.user  # type: ignore[assignment]
    practice: Practice = user.practice  # type: ignore[assignment]
    try:
        first = parse_month(month)
    except ValueError as error:
        raise Http404(str(error)) from None
    version = current_version(practice, first)
    count = len(month_packet_rows(practice, first, version)) if version else 0
    archive = None
    if count > INLINE_PACKETS:
        archive = packet_archive_request(practice=practice, month=first, actor=user)
    return render(
        request,
        "claims/month_packets.html",
        {
            "month": first,
            "month_text": f"{first:%Y-%m}",
            "version": version,
            "count": count,
            "archive": archive,
            "zip_url": reverse("api-billing-month-packets", args=[f"{first:%Y-%m}"]),
            "worklist_url": f"{reverse('worklist')}?month={first:%Y-%m}",
        },
    )
