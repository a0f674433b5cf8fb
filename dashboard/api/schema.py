"""What the API's schema describes: its own routes under /api/v1/ only (other DRF views, the
health check and the embedded sandbox's WapiKit routes, are not the dashboard's API), and the
links between them: where a script finds the ids one route's answer gives the next."""

from __future__ import annotations

FIRST_LISTED = "$response.body#/conversations/0/id"
ACTED_ON = "$request.path.conversation_id"

# operationId → OpenAPI links of its 200 answer: {name: (target operationId, parameters, body)}.
LINKS = {
    "conversations_list": {
        "GetConversation": ("conversations_retrieve", {"conversation_id": FIRST_LISTED}, None),
        "SetStatus": ("conversations_status", {"conversation_id": FIRST_LISTED}, None),
        "Assign": ("conversations_assign", {"conversation_id": FIRST_LISTED}, None),
        "Unassign": ("conversations_unassign", {"conversation_id": FIRST_LISTED}, None),
        "Bulk": ("conversations_bulk", {}, {"action": "close", "ids": [FIRST_LISTED]}),
    },
    "conversations_retrieve": {
        "SetStatus": ("conversations_status", {"conversation_id": "$response.body#/conversation/id"}, None),
    },
    "members_list": {
        "AssignTo": ("conversations_assign", {}, {"member_id": "$response.body#/0/id"}),
    },
    **{
        write: {"GetConversation": ("conversations_retrieve", {"conversation_id": ACTED_ON}, None)}
        for write in ("conversations_status", "conversations_assign", "conversations_unassign")
    },
    "conversations_bulk": {
        "GetConversation": ("conversations_retrieve", {"conversation_id": "$response.body#/items/0/conversation_id"}, None),
    },
}


def only_api_routes(endpoints, **kwargs):
    """drf-spectacular preprocessing hook."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


def with_links(result, **kwargs):
    """drf-spectacular postprocessing hook: the LINKS above on each operation's 200 answer."""
    for path_item in result["paths"].values():
        for operation in path_item.values():
            links = LINKS.get(operation.get("operationId"), {})
            if links and "200" in operation.get("responses", {}):
                operation["responses"]["200"]["links"] = {
                    name: {"operationId": target, **({"parameters": parameters} if parameters else {}),
                           **({"requestBody": body} if body else {})}
                    for name, (target, parameters, body) in links.items()
                }
    return result
