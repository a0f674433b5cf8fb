from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "dashboard.observability"
    label = "observability"

    def ready(self) -> None:
        from dashboard.wapikit import client

        from . import upstream

        if upstream.observe not in client.request_listeners:
            client.request_listeners.append(upstream.observe)
