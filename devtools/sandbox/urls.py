"""The sandbox's routes, by `settings.SANDBOX_PROFILE`:

- "spec" (the default): WapiKit as its spec and doc page promise (`api`), with `GET /api/events`
  (the spec defines it; its frames are the server's, `events`), so that `make run`'s first
  screen is live.
- "server": WapiKit as the server code of RemotiQ/wapikit 055becef answers (`server_api`;
  shared/wapikit/REAL-SERVER.md), with its rate limits and `GET /api/events` (`events`).
- "legacy": the older wapikit/wapikit d0a3506 (`server_api` in its legacy dialect): assign and
  unassign are GET routes, `message_type`, tags' `name`, `{"message"}` errors, no rate limits,
  no events.

Every profile has the test hooks `/_sandbox/control` (`control`) and `/_sandbox/state/<id>`
(`inspect`: what the database holds) and `/_sandbox/events` (`webhook`: a contact writes);
"server" and "legacy" answer any other path with echo's 404 {"message": "Not Found"}.
The "spec" routes stay exactly what they were before the other profiles existed."""

from django.conf import settings
from django.urls import path, re_path

from . import api, events, inspect, server_api, server_chain, webhook

if settings.SANDBOX_PROFILE == "spec":
    urlpatterns = [
        path("api/conversations", api.list_conversations),
        path("api/conversation/<str:conversation_id>", api.conversation_detail),
        path("api/conversation/<str:conversation_id>/assign", api.assign_conversation),
        path("api/conversation/<str:conversation_id>/unassign", api.unassign_conversation),
        path("api/conversation/<str:conversation_id>/messages", api.list_messages),
        path("api/organization/members", api.list_members),
        path("api/campaigns", api.list_campaigns),
        path("api/events", events.events_view),
        path("_sandbox/control", api.control_view),
        path("_sandbox/events", webhook.events_hook_view),
        path("_sandbox/state/<str:conversation_id>", inspect.state_view),
    ]
else:
    urlpatterns = [
        *server_api.urlpatterns(),
        path("_sandbox/control", api.control_view),
        path("_sandbox/events", webhook.events_hook_view),
        path("_sandbox/state/<str:conversation_id>", inspect.state_view),
        re_path(r"^", server_chain.not_found),
    ]
