"""The OpenAPI schema and its browsable docs, open to anyone (they describe the API, they hold
no data), with Swagger UI served from drf-spectacular-sidecar's static files and its start-up
script as a file of its own, so the page runs under the dashboard's CSP."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from . import routes

SCHEMA_PATTERNS = [path("api/v1/", include(routes))]


class SchemaView(SpectacularAPIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    patterns = SCHEMA_PATTERNS


class DocsView(SpectacularSwaggerSplitView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    url_name = "api_schema"
    template_name = "api/docs.html"


schema = login_not_required(SchemaView.as_view())
docs = login_not_required(DocsView.as_view())
