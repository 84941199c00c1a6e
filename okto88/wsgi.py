import os

from django.core.wsgi import get_wsgi_application

from okto88.tracing import tracing_setup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okto88.settings")
tracing_setup("okto88-web")  # before the application loads its middleware (a no-op without an OTLP endpoint)
application = get_wsgi_application()
