"""Process-local counters for what operators must see (failed broker publishes, dead letters).

Each gunicorn or Celery process counts its own; /readyz shows the answering process's counters.
"""

import threading
from collections import Counter

_lock = threading.Lock()
_counters: Counter[str] = Counter()


def increment(name: str, by: int = 1) -> None:
    with _lock:
        _counters[name] += by


def snapshot() -> dict[str, int]:
    with _lock:
        return dict(_counters)
