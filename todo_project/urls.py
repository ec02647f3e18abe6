from django.contrib import admin
from django.urls import include, path

from todo.views.dashboard import dashboard_view, retry_all_view, retry_view
from todo.views.metrics import metrics_view

urlpatterns = [
    path("v1/", include("todo.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("ops/sync", dashboard_view, name="ops-dashboard"),
    path("ops/sync/retry", retry_view, name="ops-retry"),
    path("ops/sync/retry-all", retry_all_view, name="ops-retry-all"),
    path("admin/", admin.site.urls),
]
