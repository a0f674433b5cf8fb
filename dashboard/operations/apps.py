from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "dashboard.operations"
    label = "operations"

    def ready(self) -> None:
        from dashboard.wapikit import transport, upstream

        if upstream.observe not in transport.request_listeners:
            transport.request_listeners.append(upstream.observe)
