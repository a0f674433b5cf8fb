"""The dashboard under ASGI (uvicorn; gunicorn with uvicorn workers in production): pages run as
they do under WSGI, and the live stream (`dashboard.live.streams`) is answered before Django's
handler, so an open browser holds no thread and no database connection. In development (DEBUG),
static files are served here too, as runserver would."""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django_application = get_asgi_application()

from dashboard.live.streams import with_live_streams  # noqa: E402 - needs the apps loaded above

if settings.DEBUG:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    django_application = ASGIStaticFilesHandler(django_application)

application = with_live_streams(django_application)
