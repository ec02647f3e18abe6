from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from todo.views.auth import GoogleCallbackView, GoogleLoginView, LogoutView
from todo.views.health import HealthView
from todo.views.labels import LabelsView
from todo.views.local_token import LocalTokenView
from todo.views.users import UsersView

urlpatterns = [
    path("health", HealthView.as_view(), name="health"),
    path("auth/google/login", GoogleLoginView.as_view(), name="google-login"),
    path("auth/google/callback", GoogleCallbackView.as_view(), name="google-callback"),
    path("auth/logout", LogoutView.as_view(), name="logout"),
    path("auth/local-token", LocalTokenView.as_view(), name="local-token"),
    path("users", UsersView.as_view(), name="users"),
    path("labels", LabelsView.as_view(), name="labels"),
    path("", include("todo.routes.teams")),
    path("", include("todo.routes.tasks")),
    path(
        "schema", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"
    ),
    path(
        "docs",
        SpectacularSwaggerView.as_view(url_name="schema", authentication_classes=[], permission_classes=[]),
        name="docs",
    ),
]
