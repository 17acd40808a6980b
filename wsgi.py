"""The WSGI entry point for production servers: `gunicorn wsgi:app`.

It refuses to start with a default, short or missing CHORUS_SECRET_KEY.
"""
from listening.app import create_app
from listening.security import refuse_weak_secret_key

app = create_app()
refuse_weak_secret_key(app)
