"""The doctor page (staff only): the read-only scan of the MongoDB database that
`manage.py dualwrite doctor` prints, run in the serving process (the only one that sees the
in-process MongoDB stand-in). Counts, field names and ids; never document values."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from todo.services.doctor import DoctorError, diagnose

UNAVAILABLE = 503


@require_GET
@staff_member_required
def doctor_view(request: HttpRequest) -> HttpResponse:
    try:
        found = diagnose()
    except DoctorError as exc:
        return render(request, "todo/doctor.html", {"error": str(exc)}, status=UNAVAILABLE)
    context = {
        "report": found.as_dict(),
        "any_unmappable": any(c.unmappable for c in found.collections),
        "any_duplicates": any(d.groups for c in found.collections for d in c.duplicates),
    }
    return render(request, "todo/doctor.html", context)


@require_GET
@staff_member_required
def doctor_json_view(request: HttpRequest) -> JsonResponse:
    try:
        found = diagnose()
    except DoctorError as exc:
        return JsonResponse({"error": str(exc)}, status=UNAVAILABLE)
    return JsonResponse(found.as_dict())
