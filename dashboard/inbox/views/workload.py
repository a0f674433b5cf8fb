"""Who holds how many active conversations: for those who may (re)assign them."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.conversations import workload as team
from dashboard.wapikit import budget, errors

from .answers import HtmxHttpRequest, current_powers


@require_GET
def workload(request: HtmxHttpRequest) -> HttpResponse:
    """Who holds how many active conversations: for those who may (re)assign them."""
    try:
        powers = current_powers(request)
        if not powers.can_assign:
            return render(request, "inbox/workload.html", {"forbidden": True, "powers": powers}, status=403)
        with budget.background():
            rows, unassigned, description = team.team_workload()
    except errors.WapiKitError as exc:
        return render(request, "inbox/workload.html", {"upstream_error": exc.user_message}, status=errors.answer_status(exc))
    return render(
        request,
        "inbox/workload.html",
        {"rows": rows, "unassigned": unassigned, "scan_description": description, "powers": powers},
    )
