"""/reports/: the team over time for a span of days, by day or week, in the team's time zone;
each number links to its conversations (/reports/conversations/), and each table has its CSV."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard.conversations import members, targets
from dashboard.reporting import figures, rollup, snapshots
from dashboard.reporting.access import Scope, scope_for
from dashboard.reporting.periods import observed_periods
from dashboard.wapikit import errors
from dashboard.wapikit.types import Member

from . import exports, shape, tables
from .forms import ListForm, ReportForm, local_today

TEMPLATE, LIST_TEMPLATE = "reports/report.html", "reports/list.html"
TABLES = {"figures", "members", "roles", "backlog", "conversations", *figures.FIGURES}


def _who(request: HttpRequest) -> tuple[Scope, list[Member]]:
    team = members.members_list()
    return scope_for(request.user, members.powers_for(request.user, team)), team


def _refused(request: HttpRequest, template: str, scope: Scope | None = None) -> HttpResponse:
    return render(request, template, {"forbidden": True, "scope": scope}, status=403)


@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    try:
        scope, team = _who(request)
    except errors.WapiKitError as exc:
        return render(request, TEMPLATE, {"upstream_error": exc.user_message}, status=errors.answer_status(exc))
    if scope.nothing:
        return _refused(request, TEMPLATE)
    now, zone = timezone.now(), rollup.team_zone()
    form = ReportForm.for_request(request.GET, local_today(zone, now))
    if not form.is_valid():
        return render(request, TEMPLATE, {"form": form, "scope": scope, "zone": zone}, status=400)
    snapshots.ensure()
    span, query = form.span(zone), form.query()
    report = rollup.build(span, targets.current(), now=now)
    people = tables.member_rows(report, team, scope, query)
    context = {"form": form, "scope": scope, "zone": zone, "span": span, "query": query, "people": people,
               "query_string": urlencode(query),
               "member_figures": [(key, figures.FIGURES[key][0]) for key in figures.MEMBER_FIGURES]}
    if scope.team:
        found = tables.snapshots_in(span.start, span.end)
        context.update(
            figures=shape.figure_views(report, query),
            roles=tables.role_rows(report, team, query),
            backlog=tables.last_snapshots(report.buckets, zone, query),
            backlog_chart=shape.backlog_chart(found, span.start, span.end, observed_periods(span.start, span.end)),
            backlog_series=shape.BACKLOG_SERIES,
        )
    wanted = request.GET.get("table", "")
    if request.GET.get("format") == "csv":
        return _csv(wanted, context, scope, now) or render(
            request, TEMPLATE, {**context, "unknown_table": True}, status=400
        )
    return render(request, TEMPLATE, context)


def _csv(wanted: str, context: dict, scope: Scope, now) -> HttpResponse | None:
    if wanted == "members":
        return exports.people_csv("members", "member", context["people"])
    if wanted == "conversations":
        span = context["span"]
        tally = rollup.all_items(span, targets.current(), now=now, member=None if scope.team else scope.member_id)
        return exports.conversations_csv(tables.conversation_rows(tally, span.zone))
    if not scope.team or wanted not in TABLES:
        return None
    if wanted == "roles":
        return exports.people_csv("roles", "role", context["roles"])
    if wanted == "backlog":
        return exports.backlog_csv(context["backlog"])
    if wanted == "figures":
        return exports.figures_csv(context["figures"])
    return exports.figure_csv(next(view for view in context["figures"] if view.key == wanted))


@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    """The conversations behind one number: exactly the items it counts."""
    try:
        scope, team = _who(request)
    except errors.WapiKitError as exc:
        return render(request, LIST_TEMPLATE, {"upstream_error": exc.user_message}, status=errors.answer_status(exc))
    now, zone = timezone.now(), rollup.team_zone()
    form = ListForm.for_request(request.GET, local_today(zone, now))
    if not form.is_valid():
        return render(request, LIST_TEMPLATE, {"form": form, "invalid": True}, status=400)
    data = form.cleaned_data
    member, role = data["member"].strip(), data["role"].strip()
    if scope.nothing or (not scope.team and (member != scope.member_id or role)):
        return _refused(request, LIST_TEMPLATE, scope)
    span, figure, where, chosen = form.span(zone), data["figure"], [], None
    if member:
        listed = next((m for m in team if m.unique_id == member), None)
        where.append(listed.name or listed.email if listed else f"member {member}")
        chosen = [member]
    elif role:
        chosen = [m.unique_id for m in team if any(r.name == role for r in m.roles)]
        where.append(f"role {role}")
    elif data["bucket"]:
        where.append(next((b.label for b in span.buckets() if b.key == data["bucket"]), data["bucket"].isoformat()))
    items = rollup.items_behind(span, targets.current(), figure, now=now, bucket=data["bucket"], members=chosen)
    tally = figures.Tally(lists={figures.ITEMS_OF.get(figure, figure): items})
    heading, counts = figures.FIGURES[figure]
    context = {
        "heading": heading, "counts": counts, "items": items, "where": where, "span": span, "zone": zone,
        "value": shape.cell(tally, figure, "").text, "back": f"?{urlencode(form.query())}",
    }
    return render(request, LIST_TEMPLATE, context)




@require_GET
def backlog_list(request: HttpRequest) -> HttpResponse:
    """The conversations one backlog figure counted (`?snapshot=<id>&series=<name>`, with the
    report's span to go back to): those its snapshot kept (each day's last)."""
    labels = dict(shape.BACKLOG_SERIES)
    series, snapshot = request.GET.get("series", ""), request.GET.get("snapshot", "")
    if series not in labels or not snapshot.isdigit():
        raise Http404("No such backlog figure.")
    try:
        scope, _ = _who(request)
    except errors.WapiKitError as exc:
        return render(request, LIST_TEMPLATE, {"upstream_error": exc.user_message}, status=errors.answer_status(exc))
    if not scope.team:
        return _refused(request, LIST_TEMPLATE, scope)
    found = snapshots.counted(int(snapshot), series)
    if found is None:
        raise Http404("No such snapshot.")
    at, count, kept = found
    among = {name: set(ids) for name, ids in (kept or {}).items()}
    zone = rollup.team_zone()
    form = ReportForm.for_request(request.GET, local_today(zone, timezone.now()))
    context = {
        "heading": f"{labels[series]} at the snapshot", "value": count, "snapshot_at": at, "zone": zone,
        "counts": shape.BACKLOG_COUNTS[series], "kept": kept is not None,
        "back": f"?{urlencode(form.query())}" if form.is_valid() else "",
        "items": [figures.Item(cid, at, shape.backlog_states(cid, among)) for cid in (kept or {}).get(series, [])],
    }
    return render(request, LIST_TEMPLATE, context, status=200 if kept is not None else 404)
