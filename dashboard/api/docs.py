"""The OpenAPI schema and its browsable docs, open to anyone (they describe the API, they hold
no data), with Swagger UI served from drf-spectacular-sidecar's static files and its start-up
script as a file of its own, so the page runs under the dashboard's CSP."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

# Every route under /api/v1/, the schema's own included (scripts fetch it); the docs page and the
# catch-all are not DRF views with a schema, so they are left out.
SCHEMA_PATTERNS = [path("api/v1/", include("dashboard.api.urls"))]


class SchemaView(SpectacularAPIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    patterns = SCHEMA_PATTERNS

    @extend_schema(
        operation_id="schema_retrieve",
        parameters=[
            OpenApiParameter("format", str, OpenApiParameter.QUERY, enum=["json", "yaml"]),
            OpenApiParameter("version", str, OpenApiParameter.QUERY, enum=["1"]),
        ],
        responses={200: OpenApiTypes.OBJECT},
        description="This document: YAML, or JSON with `format=json` or `Accept: application/json`.",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class DocsView(SpectacularSwaggerSplitView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    url_name = "api_schema"
    template_name = "api/docs.html"


schema = login_not_required(SchemaView.as_view())
docs = login_not_required(DocsView.as_view())
