"""Entry point: `flask --app wsgi ...`, gunicorn `wsgi:app`, celery `-A wsgi.celery`."""

from app import create_app
from app.platform.startup import freeze_startup_objects

app = create_app()
celery = app.extensions["celery"]
freeze_startup_objects()
