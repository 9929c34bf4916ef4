"""The same insert as POST /api/time-entries/ in a bare Django view: the token looked up
by hand, the JSON read, one activity and its share written in one transaction. No DRF,
no validation, no audit: the reference the API's throughput is measured against."""

from __future__ import annotations

import datetime as dt
import json

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authtoken.models import Token

from timelog.models import TimeActivity, TimeShare


@csrf_exempt
def bare_time_entry(request: HttpRequest) -> HttpResponse:
    header = request.headers.get("Authorization", "")
    token = Token.objects.select_related("user").filter(key=header.removeprefix("Token ")).first()
    if token is None or request.method != "POST":
        return HttpResponse(status=401)
    user = token.user
    body = json.loads(request.body)
    day = dt.date.fromisoformat(body["date"])
    with transaction.atomic():
        activity = TimeActivity.objects.create(
            practice_id=user.practice_id,
            performer=user,
            performer_kind="clinical_staff",
            performer_credential=user.credential,
            date=day,
            duration_seconds=int(body["minutes"]) * 60,
            activity=body["activity"],
            note=body["note"],
            program="ccm",
            patient_count=len(body["patients"]),
        )
        TimeShare.objects.bulk_create(
            TimeShare(
                activity=activity,
                patient_id=patient_id,
                date=day,
                seconds=activity.duration_seconds // len(body["patients"]),
            )
            for patient_id in body["patients"]
        )
    return JsonResponse({"id": activity.pk}, status=201)
