from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "dashboard.reporting"
    label = "reporting"
    verbose_name = "Reports over the timeline"

    def ready(self) -> None:
        # The domain's one door (`now`) tells of every fact: the backlog's snapshots are kept
        # planned from the first one, without the domain importing this app.
        from dashboard.conversations import now

        from .snapshots import on_fact

        now.register_listener(on_fact)
