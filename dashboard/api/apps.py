from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_save


class ApiConfig(AppConfig):
    name = "dashboard.api"
    label = "api"
    verbose_name = "JSON API for scripts and bots"

    def ready(self) -> None:
        from .signals import revoke_tokens_on_password_change

        post_save.connect(
            revoke_tokens_on_password_change, sender=settings.AUTH_USER_MODEL, dispatch_uid="api-tokens-password"
        )
