from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "dashboard.live"
    label = "live"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from dashboard.conversations import bus

        from .access import session_signed_out
        from .delivery import hand_over_message

        user_logged_out.connect(session_signed_out, dispatch_uid="dashboard.live.session_signed_out")
        bus.hand_over = hand_over_message
