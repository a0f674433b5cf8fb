"""What every API view shares: authentication, throttles, parsing, error answers, and who the
caller is as WapiKit's member list says."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from dashboard.conversations import members
from dashboard.conversations.acting import Actor
from dashboard.conversations.models import AuditEntry
from dashboard.conversations.powers import Action, Powers
from dashboard.observability.addresses import client_address

from . import serializers as s
from .authentication import BearerTokenAuthentication, SessionAuthentication
from .models import ApiToken
from .parsers import JSONParser
from .permissions import Authenticated, TokenScope
from .problems import CONTENT_TYPE, exception_handler
from .throttles import TokenRateThrottle, UserRateThrottle

PROBLEMS = {
    (code, CONTENT_TYPE): OpenApiResponse(s.ProblemSerializer, description=text)
    for code, text in {
        400: "invalid request",
        401: "no token, or one unknown, expired or revoked",
        403: "the token lacks the scope, or the WapiKit member the permission",
        404: "no such conversation (or, for assign, member)",
        413: "the body is over the upload limit (DATA_UPLOAD_MAX_MEMORY_SIZE)",
        429: "too many calls for this token, or WapiKit's budget is down to the dashboard's share",
        502: "WapiKit failed",
        503: "WapiKit is unavailable",
        504: "WapiKit did not answer in time",
    }.items()
}


def problems_for(*codes: int) -> dict:
    return {(code, CONTENT_TYPE): PROBLEMS[(code, CONTENT_TYPE)] for code in codes}


class ApiView(APIView):
    """Every API view: its own authentication, permissions, throttle, renderers and error
    answers (the project's REST_FRAMEWORK defaults are the sandbox's)."""

    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [Authenticated, TokenScope]
    throttle_classes = [TokenRateThrottle, UserRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    schema = AutoSchema()
    required_scope: str | None = None
    # A write whose scope depends on its body: the token must hold one of these before the body
    # is read (a token that may not write has its body refused unread); the exact one after.
    required_scopes: tuple[str, ...] = ()

    @classmethod
    def as_view(cls, **initkwargs):
        # The API authenticates itself: a script is not sent to the sign-in page.
        return login_not_required(super().as_view(**initkwargs))

    def get_exception_handler(self):
        return exception_handler

    # What the web's views read once per request.

    def members(self) -> list:
        if not hasattr(self, "_members"):
            self._members = members.members_list()
        return self._members

    def powers(self) -> Powers:
        if not hasattr(self, "_powers"):
            self._powers = members.powers_for(self.request.user, self.members())
        return self._powers

    def writer(self, action: Action) -> Powers:
        """Powers for a write, as WapiKit's member list says now (one members read a write, kept
        in the cache for everyone), so a role taken away within the cache's lifetime writes no
        more. A refusal by the cached list stands without asking: at worst a permission granted
        seconds ago waits for the cache."""
        cached = members.cached_members_list()
        if cached is not None and not members.powers_for(self.request.user, cached).allows(action):
            self._members = cached
        else:
            self._members = members.members_list(fresh=True)
        self._powers = members.powers_for(self.request.user, self._members)
        return self._powers

    def actor(self, action: Action) -> Actor:
        """Who acts in this call, with powers as WapiKit's member list says now (`writer`)."""
        powers = self.writer(action)
        return Actor(
            user=self.request.user,
            powers=powers,
            members=self.members(),
            via=AuditEntry.Via.API,
            client_address=client_address(self.request),
            token_name=self.token_name,
        )

    def viewer(self) -> Powers:
        """Powers of a member who may see conversations, or a 403."""
        powers = self.powers()
        if powers.member is None:
            raise exceptions.PermissionDenied(self._no_member(), code="no_member")
        if not powers.can_view:
            raise exceptions.PermissionDenied(
                "Your WapiKit role does not allow you to see conversations (no Get:Conversation).",
                code="not_permitted",
            )
        return powers

    def _no_member(self) -> str:
        return (
            f"No member of the WapiKit organisation has your email ({self.request.user.email}): "
            "the API acts as your WapiKit member."
        )

    @property
    def token_name(self) -> str:
        token = self.request.auth
        return token.name if isinstance(token, ApiToken) else ""

    def query(self, serializer_class):
        params = self.request.query_params
        fields = serializer_class().fields
        # DRF reads `?view=` as "not given"; the API says it is not a value.
        empty = {name: "This parameter may not be empty: give a value or leave it out."
                 for name, field in fields.items()
                 if params.get(name) == "" and not getattr(field, "allow_blank", False)}
        if empty:
            raise exceptions.ValidationError(empty)
        serializer = serializer_class(data=params)
        serializer.is_valid(raise_exception=True)
        return serializer

    def body(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
