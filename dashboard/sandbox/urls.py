from django.urls import path

from . import api

urlpatterns = [
    path("api/conversations", api.list_conversations),
    path("api/conversation/<str:conversation_id>", api.conversation_detail),
    path("api/conversation/<str:conversation_id>/assign", api.assign_conversation),
    path("api/conversation/<str:conversation_id>/unassign", api.unassign_conversation),
    path("api/conversation/<str:conversation_id>/messages", api.list_messages),
    path("api/organization/members", api.list_members),
    path("_sandbox/control", api.control_view),
]
