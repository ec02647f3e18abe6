"""The sync dashboard (staff only): the migration controls (phase, read source per collection, with
their cut-over readiness and audit trail), status per collection, backlog, failures with retry
buttons, verify and backfill jobs (started in `todo.views.jobs`), the last verify reports, and
write rate and latency over the last hour."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dualwrite.errors import DualWriteError
from todo.phases import PhaseNotReady
from todo.services import flag_service, phase_service
from todo.services.flag_service import InvalidFlag
from todo.services.jobs import jobs_context
from todo.services.sync_dashboard import dashboard_data, retry_all, retry_one
from todo.views.charts import latency_chart, write_rate_chart


@require_GET
@staff_member_required
def dashboard_view(request: HttpRequest) -> HttpResponse:
    data = dashboard_data()
    context = {
        **data,
        "rate_chart": write_rate_chart(data["minutes"]),
        "latency_chart": latency_chart(data["minutes"]),
        **jobs_context(),
    }
    return render(request, "todo/dashboard.html", context)


@require_POST
@staff_member_required
def retry_view(request: HttpRequest) -> HttpResponseRedirect:
    collection = request.POST.get("collection", "")
    mongo_id = request.POST.get("mongo_id", "")
    try:
        applied = retry_one(collection, mongo_id)
    except DualWriteError as exc:
        messages.error(request, f"retry refused: {exc}")
    else:
        if applied:
            messages.success(request, f"{collection} {mongo_id}: applied, Postgres is up to date")
        else:
            messages.warning(request, f"{collection} {mongo_id}: still failing (see the failure list)")
    return HttpResponseRedirect(reverse("ops-dashboard"))


@require_POST
@staff_member_required
def retry_all_view(request: HttpRequest) -> HttpResponseRedirect:
    outcome = retry_all()
    level = messages.SUCCESS if outcome.applied == outcome.attempted else messages.WARNING
    messages.add_message(request, level, f"retried {outcome.attempted}: {outcome.applied} applied")
    return HttpResponseRedirect(reverse("ops-dashboard"))


def _actor(request: HttpRequest) -> str:
    return f"staff:{request.user.get_username()}"


@require_POST
@staff_member_required
def phase_view(request: HttpRequest) -> HttpResponseRedirect:
    target = request.POST.get("phase", "")
    force = request.POST.get("force") == "on"
    try:
        change = phase_service.change_phase(target, actor=_actor(request), force=force)
    except (PhaseNotReady, InvalidFlag) as exc:
        messages.error(request, f"phase not changed: {exc}")
    else:
        if change.changes:
            forced = " (forced: not ready)" if change.reasons else ""
            messages.success(
                request,
                f"phase: {change.recorded} → {change.target}{forced}; every process follows within seconds",
            )
        else:
            messages.info(request, f"already in {change.target}")
    return HttpResponseRedirect(reverse("ops-dashboard") + "#migration")


@require_POST
@staff_member_required
def reads_view(request: HttpRequest) -> HttpResponseRedirect:
    collection = request.POST.get("collection", "")
    force = request.POST.get("force") == "on"
    try:
        route = flag_service.parse_route(request.POST.get("source", ""), request.POST.get("percent"))
        change = flag_service.set_read_route(collection, route, actor=_actor(request), force=force)
    except (PhaseNotReady, InvalidFlag) as exc:
        messages.error(request, f"reads not moved: {exc}")
    else:
        if change is None:
            messages.info(request, f"{collection} reads: already {route}")
        else:
            forced = " (forced: not ready)" if change.forced else ""
            messages.success(request, f"{collection} reads: {change.old} → {change.new}{forced}")
    return HttpResponseRedirect(reverse("ops-dashboard") + "#migration")
