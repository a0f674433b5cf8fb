"""The OpenAPI schema and its browsable docs, open to anyone (they describe the API, they hold
no data), with Swagger UI served from drf-spectacular-sidecar's static files and its start-up
script as a file of its own, so the page runs under the dashboard's CSP. Neither is kept by any
cache: the docs' script carries the visitor's CSRF token."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.decorators.cache import cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer

from . import problems
from .serializers import ProblemSerializer

# Every route under /api/v1/, the schema's own included (scripts fetch it); the docs page and the
# catch-all are not DRF views with a schema, so they are left out.
SCHEMA_PATTERNS = [path("api/v1/", include("dashboard.api.urls"))]
# The API's versions: /api/v1/ is the only one.
VERSIONS = ("1",)


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
        responses={
            200: OpenApiTypes.OBJECT,
            (400, problems.CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description="a version the API does not have"),
            (404, problems.CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description="a format it cannot write"),
        },
        description="This document: YAML, or JSON with `format=json` or `Accept: application/json`.",
    )
    def get(self, request, *args, **kwargs):
        # A format the schema cannot write is refused (404) before this; an empty one is not a value.
        params, refused = request.query_params, {}
        if "version" in params and params["version"] not in VERSIONS:
            refused["version"] = f"The API has version {', '.join(VERSIONS)} only: send version=1 or leave it out."
        if params.get("format") == "":
            refused["format"] = "Send format=json or format=yaml, or leave it out."
        if refused:
            raise exceptions.ValidationError(refused)
        return super().get(request, *args, **kwargs)

    def _get_filename(self, request, version):
        # The file is named after the API alone: nothing from the URL reaches a header.
        return super()._get_filename(request, None)

    def get_exception_handler(self):
        return problems.exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        # A refusal is a problem document in JSON, whichever format the schema was asked in.
        if response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), problems.CONTENT_TYPE
        return super().finalize_response(request, response, *args, **kwargs)


class DocsView(SpectacularSwaggerSplitView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    url_name = "api_schema"
    template_name = "api/docs.html"


private = cache_control(private=True, no_store=True)
schema = login_not_required(private(SchemaView.as_view()))
docs = login_not_required(private(DocsView.as_view()))
