"""Unbound extension instances, bound to the app in create_app()."""

from celery import Celery
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from app import sqlite  # noqa: F401  (transactions and foreign keys on the embedded database)
from app.db import Base
from app.errors import TiermallApi

db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
api = TiermallApi()
celery = Celery("tiermall")
