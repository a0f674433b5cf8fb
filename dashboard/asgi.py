"""The dashboard under ASGI (uvicorn; gunicorn with uvicorn workers in production): pages run as
they do under WSGI, and the live stream (`dashboard.live.views.stream`) holds no thread per open
browser. In development (DEBUG), static files are served here too, as runserver would."""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
application = get_asgi_application()

if settings.DEBUG:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(application)
