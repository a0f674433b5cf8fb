"""The API's endpoints, on their own so the schema can be generated from exactly them."""

from django.urls import path

from . import routing, views, writes

urlpatterns = [
    path("conversations", views.ConversationList.as_view(), name="api_conversations"),
    path("conversations/bulk", writes.Bulk.as_view(), name="api_bulk"),
    path("conversations/<str:conversation_id>", views.ConversationDetail.as_view(), name="api_conversation"),
    path("conversations/<str:conversation_id>/status", writes.ConversationStatus.as_view(), name="api_status"),
    path("conversations/<str:conversation_id>/assign", writes.ConversationAssign.as_view(), name="api_assign"),
    path("conversations/<str:conversation_id>/unassign", writes.ConversationUnassign.as_view(), name="api_unassign"),
    path("members", views.MemberList.as_view(), name="api_members"),
    path("audit", views.AuditList.as_view(), name="api_audit"),
    path("routing", routing.Routing.as_view(), name="api_routing"),
]
