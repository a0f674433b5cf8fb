"""Where a card is drawn: on its conversation's own page, a card neither links to that page nor
offers a bulk checkbox (there is no bulk bar there)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.simple_tag(takes_context=True)
def on_its_page(context, conversation_id: str) -> bool:
    """Whether the page being drawn, or the page an htmx request came from (a card redrawn
    after an action), is this conversation's own page."""
    request = context.get("request")
    if request is None:
        return False
    try:
        own = reverse("conversation", args=[conversation_id])
    except NoReverseMatch:  # an id WapiKit sent that no page of ours can carry
        return False
    htmx = getattr(request, "htmx", None)
    came_from = urlsplit(htmx.current_url or "").path if htmx else ""
    return request.path == own or came_from == own
