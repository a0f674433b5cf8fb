"""Two gates before anything reaches WapiKit: the caller is someone, and their token carries
the scope the route needs. Whether their WapiKit member may do it is asked per call, from the
member list, by the same `Powers` the web uses (`views.ApiView.powers`)."""

from __future__ import annotations

from rest_framework import exceptions, permissions

from .models import ApiToken


def has_scope(request, scope: str) -> bool:
    """A token's scopes; a signed-in browser session acts with every scope (as on the web)."""
    token = request.auth
    if isinstance(token, ApiToken):
        return token.allows(scope)
    return True


def may_read(request, powers) -> bool:
    """Whether an answer may carry conversations: the caller's WapiKit member may see them
    (Get:Conversation) and their token has the `read` scope. Writes answer others with what
    happened only, so no write becomes a way to read."""
    return powers.can_view and has_scope(request, "read")


def require_scope(request, scope: str) -> None:
    if not has_scope(request, scope):
        raise exceptions.PermissionDenied(f"This token lacks the “{scope}” scope.", code="missing_scope")


class Authenticated(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user is not None and user.is_authenticated)


class TokenScope(permissions.BasePermission):
    """The view's `required_scope`, when it names one; for a route whose scope depends on the
    body, one of its `required_scopes`, before the body is read (the view checks the exact one)."""

    def has_permission(self, request, view) -> bool:
        scope = getattr(view, "required_scope", None)
        if scope:
            require_scope(request, scope)
        any_of = getattr(view, "required_scopes", ())
        if any_of and not any(has_scope(request, scope) for scope in any_of):
            raise exceptions.PermissionDenied(
                f"This token has none of the scopes this route needs ({', '.join(any_of)}).", code="missing_scope"
            )
        return True
