from django.urls import path, re_path

from . import docs, problems, routes

urlpatterns = [
    *routes.urlpatterns,
    path("schema/", docs.schema, name="api_schema"),
    path("docs/", docs.docs, name="api_docs"),
    re_path(r"^(?P<path>.*)$", problems.unknown_route, name="api_unknown"),
]
