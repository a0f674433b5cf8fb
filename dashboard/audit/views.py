from __future__ import annotations

import csv
import re

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.conversations.audit import AuditFilter, audit_groups, may_read_audit
from dashboard.conversations.models import AuditEntry

PER_PAGE = 50
CSV_COLUMNS = (
    "started_at", "completed_at", "user_email", "member_name", "conversation_id", "contact_name", "action",
    "via", "before_status", "before_assignee_name", "after_status", "after_assignee_name", "outcome",
    "error_kind", "detail", "client_address", "undoes_id",
)


@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    if not may_read_audit(request.user):
        return render(request, "audit/log.html", {"forbidden": True}, status=403)
    form = AuditFilter(request.GET or None)
    entries = AuditEntry.objects.all()
    invalid = form.is_bound and not form.is_valid()
    if invalid:
        # A filter that cannot be applied (a NUL, a date that is none) says why, and shows and
        # exports nothing rather than every entry as if it had been applied.
        entries = AuditEntry.objects.none()
    elif form.is_bound:
        entries = form.filter(entries)
    if request.GET.get("format") == "csv" and not invalid:
        return csv_export(entries)
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "groups": audit_groups(page.object_list), "query": query.urlencode()}
    return render(request, "audit/log.html", context, status=400 if invalid else 200)


class _Echo:
    def write(self, value: str) -> str:
        return value


# A formula trigger at the start of a cell, or after a delimiter some locale splits on (a
# spreadsheet that separates cells by ";" reads `Bob;=1+1` as two, however it is quoted).
_FORMULA_START = re.compile(r"(^|[,;\t])(\s*)(?=[=+\-@\t\r])")


def _csv_cell(value) -> str:
    """Upstream text, defused: every place where a spreadsheet could start a cell with a
    formula gets a `'` first, so it reads as text."""
    text = "" if value is None else str(value)
    return _FORMULA_START.sub(lambda m: f"{m[1]}'{m[2]}", text)


def csv_export(entries) -> StreamingHttpResponse:
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    rows = (
        writer.writerow([_csv_cell(getattr(entry, column)) for column in CSV_COLUMNS])
        for entry in entries.iterator(chunk_size=500)
    )
    response = StreamingHttpResponse(
        (row for stream in ([writer.writerow(CSV_COLUMNS)], rows) for row in stream), content_type="text/csv"
    )
    response["Content-Disposition"] = 'attachment; filename="wapikit-dashboard-audit.csv"'
    return response
