"""The WSGI entry point for production servers: `gunicorn wsgi:app`."""
from listening.app import create_app

app = create_app()
