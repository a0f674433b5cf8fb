from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "devtools.sandbox"
    label = "sandbox"
    verbose_name = "Embedded WapiKit sandbox"
