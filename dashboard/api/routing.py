"""`GET`/`PUT /api/v1/routing`: routing's rules and pause switch for scripts, with a token holding
the `routing` scope, for Owners and staff (the routing page's rule). A PUT replaces the whole
list, checked rule by rule with the page's own form: every rule valid, or nothing changes."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from dashboard.routing import rules, running, state
from dashboard.routing.models import Method, Presence, TakeBackTo

from .base import ApiView, problems_for
from .problems import CONTENT_TYPE, problem
from .serializers import ProblemSerializer

REFUSED = {
    (409, CONTENT_TYPE): OpenApiResponse(
        ProblemSerializer,
        description="a rule the organisation cannot follow (a member or role it does not have, a member whose "
        "roles do not allow Get:Conversation, no member at all, two rules of one name): nothing changed",
    )
}


class RuleSerializer(serializers.Serializer):
    name = serializers.CharField(min_length=1, max_length=100, trim_whitespace=False)
    enabled = serializers.BooleanField(default=True)
    campaign_id = serializers.CharField(max_length=64, allow_blank=True, default="")
    tag = serializers.CharField(max_length=100, allow_blank=True, default="")
    roles = serializers.ListField(child=serializers.CharField(max_length=100, allow_blank=True), default=list)
    member_ids = serializers.ListField(child=serializers.CharField(max_length=64, allow_blank=True), default=list)
    method = serializers.ChoiceField(choices=Method.choices, default=Method.BALANCED)
    capacity = serializers.IntegerField(min_value=1, max_value=1000, default=10)
    presence = serializers.ChoiceField(choices=Presence.choices, default=Presence.ONLINE)
    online_minutes = serializers.IntegerField(min_value=1, max_value=rules.MOST_MINUTES, default=5)
    grace_minutes = serializers.IntegerField(min_value=0, max_value=rules.MOST_MINUTES, default=2)
    unanswered_minutes = serializers.IntegerField(min_value=1, max_value=rules.MOST_MINUTES, allow_null=True, default=None)
    window_minutes = serializers.IntegerField(min_value=1, max_value=24 * 60, allow_null=True, default=None)
    take_back_to = serializers.ChoiceField(choices=TakeBackTo.choices, default=TakeBackTo.RULE)
    takes_manual = serializers.BooleanField(default=False)


class RoutingSerializer(serializers.Serializer):
    paused = serializers.BooleanField(required=False)
    rules = RuleSerializer(many=True)


class RoutingAnswerSerializer(serializers.Serializer):
    paused = serializers.BooleanField()
    waiting_until = serializers.DateTimeField(allow_null=True, help_text="routing's share of the assign route is spent until then")
    rules = RuleSerializer(many=True)
    preview = serializers.CharField(help_text="what the rules would do now with the unassigned backlog, without acting")


class Routing(ApiView):
    required_scope = "routing"

    def _owner(self) -> None:
        user = self.request.user
        if not rules.may_change_routing(user, None if user.is_staff else self.powers()):
            raise exceptions.PermissionDenied("Routing is set by Owners and staff.", code="not_permitted")

    def _answer(self) -> Response:
        now = state.current()
        data = {
            "paused": now.paused is not None,
            "waiting_until": now.waiting_until,
            "rules": [rules.as_data(rule) for rule in rules.rules()],
            "preview": str(state.preview()),
        }
        return Response(RoutingAnswerSerializer(data).data)

    @extend_schema(
        operation_id="routing_get",
        responses={200: RoutingAnswerSerializer, **problems_for(401, 403, 429, 502, 503, 504)},
        description="Routing's rules in order, the pause switch, and the preview of what they would do now.",
    )
    def get(self, request):
        self._owner()
        return self._answer()

    @extend_schema(
        operation_id="routing_put",
        request=RoutingSerializer,
        responses={200: RoutingAnswerSerializer, **problems_for(400, 401, 403, 413, 429, 502, 503, 504), **REFUSED},
        description="Replace every rule (in the order given) and, when `paused` is given, set the pause switch.",
    )
    def put(self, request):
        self._owner()
        body = self.body(RoutingSerializer)
        members = self.members()
        checked, problems, names = [], {}, set()
        for index, data in enumerate(body["rules"]):
            form = rules.RuleForm(data=data, members=members, taken_names=names)
            if form.is_valid():
                names.add(form.cleaned_data["name"])
                checked.append(form)
            else:
                problems[str(index)] = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
        if problems:
            # Well-formed (the serializer checked that: 400), but not a rule this organisation can follow.
            reasons = "; ".join(
                f"rule {int(index) + 1}: {' '.join(errs)}" for index, fields in problems.items() for errs in fields.values()
            )
            return problem(409, f"Nothing changed. {reasons}", kind="refused", rules=problems)
        rules.rules_replace(forms_in_order=checked, paused=body.get("paused"), user=request.user)
        running.ensure_sweep()  # the backlog is swept soon, without waiting for WapiKit's next event
        return self._answer()
