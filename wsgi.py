"""Entry point: `flask --app wsgi ...`, gunicorn `wsgi:app`, celery `-A wsgi.celery`."""

from app import create_app

app = create_app()
celery = app.extensions["celery"]
