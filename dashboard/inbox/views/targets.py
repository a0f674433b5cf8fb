"""The team's response targets, set by Owners and staff: a plain form posted to its own route
(as the Tokens page's are), which redirects back to the page once saved."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.conversations import targets
from dashboard.wapikit import errors

from .answers import HtmxHttpRequest, current_powers

TEMPLATE = "inbox/targets.html"


def _refusal(request: HtmxHttpRequest) -> HttpResponse | None:
    """The page that says why this user may not set the targets, or None when they may."""
    try:
        # Staff need no WapiKit answer; anyone else is an Owner or not by their member.
        powers = None if request.user.is_staff else current_powers(request)
    except errors.WapiKitError as exc:
        return render(request, TEMPLATE, {"upstream_error": exc.user_message}, status=errors.answer_status(exc))
    if not targets.may_change_targets(request.user, powers):
        return render(request, TEMPLATE, {"forbidden": True}, status=403)
    return None


def _page(request: HtmxHttpRequest, form: targets.TargetsForm, *, status: int = 200) -> HttpResponse:
    context = {"form": form, "saved": targets.saved(), "time_zones": targets.time_zone_names()}
    return render(request, TEMPLATE, context, status=status)


@require_GET
def response_targets(request: HtmxHttpRequest) -> HttpResponse:
    return _refusal(request) or _page(request, targets.TargetsForm.for_current())


@require_POST
def response_targets_save(request: HtmxHttpRequest) -> HttpResponse:
    if (refused := _refusal(request)) is not None:
        return refused
    form = targets.TargetsForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    targets.targets_save(form=form, user=request.user)
    messages.success(request, "Response targets saved: every clock counts with them now.")
    return redirect("response_targets")
