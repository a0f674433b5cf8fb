from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard import errors
from dashboard.accounts.views import SignInView, account, account_inbox_layout, account_time_zone
from dashboard.api import pages as api_pages
from dashboard.audit import views as audit
from dashboard.inbox.views import actions, alerts, bulk, conversation, inbox, routing, targets, undo, workload
from dashboard.live import views as live
from dashboard.live.delivery import ingest
from dashboard.operations import metrics
from dashboard.operations.health import health
from dashboard.operations.status import status_page
from dashboard.reports import views as reports

urlpatterns = [
    path("", inbox.inbox, name="inbox"),
    path("inbox/tabs/", inbox.inbox_tabs, name="inbox_tabs"),
    path("inbox/changes/", inbox.inbox_changes, name="inbox_changes"),
    path("alerts/<int:alert_id>/", alerts.alert, name="alert"),
    path("alerts/take-backs/<int:take_back_id>/", alerts.take_back, name="take_back"),
    path("bulk/", bulk.bulk_action, name="bulk"),
    path("workload/", workload.workload, name="workload"),
    path("settings/targets/", targets.response_targets, name="response_targets"),
    path("settings/targets/save/", targets.response_targets_save, name="response_targets_save"),
    path("routing/", routing.routing, name="routing"),
    path("routing/rules/new/", routing.routing_rule_new, name="routing_rule_new"),
    path("routing/rules/<int:rule_id>/", routing.routing_rule_save, name="routing_rule_save"),
    path("routing/rules/<int:rule_id>/delete/", routing.routing_rule_delete, name="routing_rule_delete"),
    path("routing/pause/", routing.routing_pause, name="routing_pause"),
    path("conversations/<str:conversation_id>/", conversation.conversation_detail, name="conversation"),
    path("conversations/<str:conversation_id>/close/", actions.conversation_action, {"action": "close"}, name="close"),
    path("conversations/<str:conversation_id>/reopen/", actions.conversation_action, {"action": "reopen"}, name="reopen"),
    path("conversations/<str:conversation_id>/delete/", actions.conversation_action, {"action": "delete"}, name="delete"),
    path("conversations/<str:conversation_id>/assign/", actions.conversation_action, {"action": "assign"}, name="assign"),
    path(
        "conversations/<str:conversation_id>/unassign/", actions.conversation_action, {"action": "unassign"}, name="unassign"
    ),
    path("conversations/<str:conversation_id>/undo/", undo.conversation_undo, name="undo"),
    path("audit/", audit.audit_log, name="audit"),
    path("reports/", reports.reports, name="reports"),
    path("reports/conversations/", reports.report_list, name="report_list"),
    path("reports/backlog/", reports.backlog_list, name="report_backlog"),
    path("tokens/", api_pages.tokens, name="tokens"),
    path("tokens/new/", api_pages.token_new, name="token_new"),
    path("tokens/<int:token_id>/revoke/", api_pages.token_revoke_view, name="token_revoke"),
    path("api/v1/", include("dashboard.api.urls")),
    path("status/", status_page, name="status"),
    path("health/", health, name="health"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("live/stream/", live.stream, name="live_stream"),
    path("live/ingest/", ingest, name="live_ingest"),
    path("account/", account, name="account"),
    path("account/time-zone/", account_time_zone, name="account_time_zone"),
    path("account/inbox-layout/", account_inbox_layout, name="account_inbox_layout"),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error
