"""WSGI entry point: gunicorn umsdemo.wsgi (or any WSGI server)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "umsdemo.settings")
application = get_wsgi_application()
