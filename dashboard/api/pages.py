"""The Tokens page: a signed-in user creates tokens for their own scripts (the secret is shown
once, in the answer to the form, and never stored), sees each token's scopes, expiry and last
use, and revokes them."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from .models import Scope
from .tokens import LIFETIME_CHOICES, TokenError, token_create, token_revoke


def _page(request: HttpRequest, *, status: int = 200, **context) -> HttpResponse:
    context.setdefault("form", {"name": "", "scopes": ["read"], "expires": "30d"})
    return render(
        request,
        "api/tokens.html",
        {
            "tokens": request.user.api_tokens.all(),
            "scopes": Scope.choices,
            "lifetimes": LIFETIME_CHOICES,
            "cap": settings.API_TOKENS_PER_USER,
            **context,
        },
        status=status,
    )


@require_GET
def tokens(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
def token_new(request: HttpRequest) -> HttpResponse:
    form = {
        "name": request.POST.get("name", ""),
        "scopes": request.POST.getlist("scopes"),
        "expires": request.POST.get("expires", "30d"),
    }
    try:
        token, secret = token_create(
            user=request.user, name=form["name"], scopes=form["scopes"], lifetime=form["expires"]
        )
    except TokenError as exc:
        return _page(request, status=400, error=str(exc), form=form)
    # Rendered here, not after a redirect: the secret is never stored, not even in the session.
    return _page(request, status=201, created=token, secret=secret)


@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = token_revoke(user=request.user, token_id=token_id)
    if token is None:
        return _page(request, status=404, error="You have no such token.")
    messages.success(request, f"Revoked “{token.name}”: it no longer works.")
    return redirect("tokens")
