"""Call rates per token and per user (DRF's throttle, counted in Django's default cache: Redis in
production, so every process counts together), and the API's share of the team's WapiKit budget."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from django.conf import settings
from rest_framework import exceptions, throttling

from dashboard.wapikit import budget, get_client

from .models import ApiToken


class TokenRateThrottle(throttling.SimpleRateThrottle):
    scope = "api_token"

    def get_rate(self) -> str:
        return settings.API_TOKEN_RATE

    def get_cache_key(self, request, view) -> str | None:
        token = request.auth
        if isinstance(token, ApiToken):
            ident = f"token:{token.pk}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"session-user:{request.user.pk}"
        else:
            return None
        return f"api:throttle:{ident}"


class UserRateThrottle(throttling.SimpleRateThrottle):
    """All of one user's tokens and browser session together: a second token is not a second rate."""

    scope = "api_user"

    def get_rate(self) -> str:
        return settings.API_USER_RATE

    def get_cache_key(self, request, view) -> str | None:
        if request.user is None or not request.user.is_authenticated:
            return None
        return f"api:throttle:user:{request.user.pk}"


class BudgetReserved(exceptions.Throttled):
    default_code = "budget_reserved"


def ensure_budget(needs: dict[str, int]) -> None:
    """Refuse (429) an API call that would take a WapiKit route below the share kept for the web
    dashboard: `needs` maps each route bucket the call may use to the requests it may send there.
    Buckets WapiKit never stated a limit for are not limited."""
    weighed = budget.weigh(get_client(), needs, reserve_share=settings.WAPIKIT_API_BUDGET_RESERVE)
    for need in weighed:
        if need.limit is None or not need.crosses_reserve:
            continue
        wait = max(1, math.ceil(need.returns_at - datetime.now(UTC).timestamp())) if need.returns_at else 60
        raise BudgetReserved(
            wait=wait,
            detail=(
                f"WapiKit's request budget for {budget.route_name(need.bucket)} is down to the share kept for the "
                f"web dashboard{need.until} ({need.remaining} left, {need.reserve} kept, this call needs up to "
                f"{need.needed}): nothing was sent."
            ),
        )
