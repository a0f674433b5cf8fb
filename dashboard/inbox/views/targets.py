"""The team's response targets, set by Owners and staff: a plain form, post/redirect/get."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dashboard.conversations import targets
from dashboard.wapikit import errors

from .answers import HtmxHttpRequest, current_powers

TEMPLATE = "inbox/targets.html"


@require_http_methods(["GET", "HEAD", "POST"])
def response_targets(request: HtmxHttpRequest) -> HttpResponse:
    try:
        # Staff need no WapiKit answer; anyone else is an Owner or not by their member.
        powers = None if request.user.is_staff else current_powers(request)
    except errors.WapiKitError as exc:
        context = {"upstream_error": exc.user_message}
        return render(request, TEMPLATE, context, status=errors.answer_status(exc))
    if not targets.may_change_targets(request.user, powers):
        return render(request, TEMPLATE, {"forbidden": True}, status=403)
    if request.method == "POST":
        form = targets.TargetsForm(request.POST)
        if form.is_valid():
            targets.targets_save(form=form, user=request.user)
            messages.success(request, "Response targets saved: every clock counts with them now.")
            return redirect("response_targets")
        status = 400
    else:
        form, status = targets.TargetsForm.for_current(), 200
    context = {"form": form, "saved": targets.saved(), "time_zones": targets.time_zone_names()}
    return render(request, TEMPLATE, context, status=status)
