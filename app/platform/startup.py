"""What a server process does once its app is built, before it takes work."""

import gc

from sqlalchemy.orm import configure_mappers


def freeze_startup_objects() -> None:
    """Move everything alive after start-up (the app, SQLAlchemy's mappers and compiled caches,
    the schemas: hundreds of thousands of objects) out of the cyclic collector's reach.

    A full collection otherwise walks all of them: a 151 ms pause in the middle of a list
    request, 9 ms after the freeze (docs/perf.md). Called by wsgi.py (gunicorn workers, Celery
    workers, the CLI) and the benchmarks, never by the tests: a frozen object is never collected.
    The mappers are configured first: SQLAlchemy does it lazily, at the first query, and those
    15,000 objects stayed in every later collection (a full one took 2.3 ms after a warm-up, 0.7
    ms with them frozen too; bench/scoped_lists.py's process).
    """
    configure_mappers()
    gc.collect()
    gc.freeze()
