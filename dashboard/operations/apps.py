from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "dashboard.operations"
    label = "operations"

    def ready(self) -> None:
        from dashboard.wapikit import client, upstream

        if upstream.observe not in client.request_listeners:
            client.request_listeners.append(upstream.observe)
