from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "dashboard.inbox"
    label = "inbox"
