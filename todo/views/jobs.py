"""The sync dashboard's jobs (staff only): start a verify, verify-with-repair or backfill, the
jobs' progress as JSON for the page's poller, and one job's report page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from todo.models.postgres.operations import Job
from todo.services.jobs import ALL_COLLECTIONS, JobRefused, as_json, recent_jobs, start_jobs, summary


@require_POST
@staff_member_required
def start_job_view(request: HttpRequest) -> HttpResponseRedirect:
    kind = request.POST.get("kind", "")
    collection = request.POST.get("collection", "")
    try:
        outcome = start_jobs(
            kind, None if collection == ALL_COLLECTIONS else collection, request.user.get_username()
        )
    except JobRefused as exc:
        messages.error(request, f"job refused: {exc}")
    else:
        for job in outcome.started:
            messages.success(request, f"started {job.kind} of {job.collection} (job {job.id})")
        for job in outcome.busy:
            messages.warning(
                request,
                f"refused {kind} of {job.collection}: job {job.id} ({job.kind}) is {job.status}",
            )
    return HttpResponseRedirect(reverse("ops-dashboard") + "#jobs")


@require_GET
@staff_member_required
def jobs_json_view(request: HttpRequest) -> JsonResponse:
    jobs = [as_json(job) for job in recent_jobs()]
    return JsonResponse({"jobs": jobs, "active": any(j["status"] in Job.ACTIVE for j in jobs)})


@require_GET
@staff_member_required
def job_report_view(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(Job, id=job_id)
    return render(request, "todo/job.html", {"job": job, "summary": summary(job)})
