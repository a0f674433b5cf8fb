"""The routing page, for Owners and staff: the rules (each a plain form posted to its own route,
which redirects back once saved), a new rule, the pause switch, the preview of what the rules
would do now (nothing is sent to WapiKit but reads), and the take-backs of late."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.routing import rules, running, state, takeback
from dashboard.routing.models import Rule
from dashboard.wapikit import errors

from .answers import HtmxHttpRequest, current_members, current_powers

TEMPLATE = "inbox/routing.html"
NEW = "new"


def _refusal(request: HtmxHttpRequest) -> HttpResponse | None:
    """The page that says why this user may not set routing, or None when they may."""
    try:
        powers = None if request.user.is_staff else current_powers(request)
        current_members(request)  # the forms offer the members and their roles
    except errors.WapiKitError as exc:
        return render(request, TEMPLATE, {"upstream_error": exc.user_message}, status=errors.answer_status(exc))
    if not rules.may_change_routing(request.user, powers):
        return render(request, TEMPLATE, {"forbidden": True}, status=403)
    return None


def _forms(request: HtmxHttpRequest, *, bound: tuple[str, rules.RuleForm] | None = None) -> list:
    members = current_members(request)
    found = []
    for rule in rules.rules():
        prefix = f"rule-{rule.pk}"
        if bound is not None and bound[0] == prefix:
            found.append((rule, bound[1]))
        else:
            found.append((rule, rules.RuleForm.of(rule, members=members, prefix=prefix)))
    return found


def _page(request: HtmxHttpRequest, *, bound: tuple[str, rules.RuleForm] | None = None, status: int = 200):
    members = current_members(request)
    new_form = bound[1] if bound is not None and bound[0] == NEW else rules.RuleForm(members=members, prefix=NEW)
    try:
        preview, preview_error = state.preview(), ""
    except errors.WapiKitError as exc:
        preview, preview_error = None, exc.user_message
    context = {
        "rules": _forms(request, bound=bound),
        "new_form": new_form,
        "state": state.current(),
        "preview": preview,
        "preview_error": preview_error,
        "take_backs": takeback.recent(),
    }
    return render(request, TEMPLATE, context, status=status)


@require_GET
def routing(request: HtmxHttpRequest) -> HttpResponse:
    return _refusal(request) or _page(request)


@require_POST
def routing_rule_new(request: HtmxHttpRequest) -> HttpResponse:
    if (refused := _refusal(request)) is not None:
        return refused
    taken = {rule.name for rule in rules.rules()}
    form = rules.RuleForm(request.POST, members=current_members(request), taken_names=taken, prefix=NEW)
    if not form.is_valid():
        return _page(request, bound=(NEW, form), status=400)
    rule = rules.rule_save(form=form, user=request.user)
    running.ensure_sweep()  # the backlog is swept soon, without waiting for WapiKit's next event
    messages.success(request, f"Rule “{rule.name}” added: routing follows it from now on.")
    return redirect("routing")


@require_POST
def routing_rule_save(request: HtmxHttpRequest, rule_id: int) -> HttpResponse:
    if (refused := _refusal(request)) is not None:
        return refused
    rule = get_object_or_404(Rule, pk=rule_id)
    taken = {other.name for other in rules.rules() if other.pk != rule.pk}
    prefix = f"rule-{rule.pk}"
    form = rules.RuleForm(request.POST, members=current_members(request), taken_names=taken, prefix=prefix)
    if not form.is_valid():
        return _page(request, bound=(prefix, form), status=400)
    rules.rule_save(form=form, user=request.user, rule=rule)
    messages.success(request, f"Rule “{rule.name}” saved.")
    return redirect("routing")


@require_POST
def routing_rule_delete(request: HtmxHttpRequest, rule_id: int) -> HttpResponse:
    if (refused := _refusal(request)) is not None:
        return refused
    rule = get_object_or_404(Rule, pk=rule_id)
    rules.rule_delete(rule)
    messages.success(request, f"Rule “{rule.name}” deleted.")
    return redirect("routing")


@require_POST
def routing_pause(request: HtmxHttpRequest) -> HttpResponse:
    if (refused := _refusal(request)) is not None:
        return refused
    paused = request.POST.get("paused") == "1"
    rules.switch_set(paused=paused, user=request.user)
    running.ensure_sweep()
    messages.success(request, "Routing is paused: nothing is assigned until it is resumed." if paused
                     else "Routing resumed.")
    return redirect("routing")
