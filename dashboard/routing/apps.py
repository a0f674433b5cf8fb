from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "dashboard.routing"
    label = "routing"
    verbose_name = "Routing of new conversations"

    def ready(self) -> None:
        # The domain's one door (`now`) tells routing of every fact without importing it.
        from dashboard.conversations import now

        from .running import on_fact

        now.register_listener(on_fact)
