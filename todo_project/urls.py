from django.contrib import admin
from django.urls import include, path, re_path

from todo.views.dashboard import dashboard_view, phase_view, reads_view, retry_all_view, retry_view
from todo.views.doctor import doctor_json_view, doctor_view
from todo.views.errors import not_found
from todo.views.jobs import job_report_view, jobs_json_view, start_job_view
from todo.views.metrics import metrics_view

urlpatterns = [
    path("v1/", include("todo.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("ops/sync", dashboard_view, name="ops-dashboard"),
    path("ops/sync/retry", retry_view, name="ops-retry"),
    path("ops/sync/retry-all", retry_all_view, name="ops-retry-all"),
    path("ops/sync/phase", phase_view, name="ops-phase"),
    path("ops/sync/reads", reads_view, name="ops-reads"),
    path("ops/doctor", doctor_view, name="ops-doctor"),
    path("ops/doctor.json", doctor_json_view, name="ops-doctor-json"),
    path("ops/jobs", start_job_view, name="ops-job-start"),
    path("ops/jobs.json", jobs_json_view, name="ops-jobs-json"),
    path("ops/jobs/<int:job_id>", job_report_view, name="ops-job"),
    path("admin/", admin.site.urls),
    re_path(r"^v1/", not_found),  # unknown API paths: JSON 404 also when DEBUG is on
]

handler400 = "todo.views.errors.bad_request"
handler403 = "todo.views.errors.forbidden"
handler404 = "todo.views.errors.not_found"
handler500 = "todo.views.errors.server_error"
