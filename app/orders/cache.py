"""A small per-process cache with a time limit, for terms that change rarely (tenant currency, SKU names).

Checkout reads them on every order; a minute of staleness after an edit is the accepted cost of
not paying a database round trip for each of them.
"""

import time
import weakref
from collections.abc import Callable, Hashable, Iterable


class TtlCache:
    _every: "weakref.WeakSet[TtlCache]" = weakref.WeakSet()

    def __init__(self, seconds: float, max_size: int = 10_000):
        self.seconds, self.max_size = seconds, max_size
        self._entries: dict[Hashable, tuple[float, object]] = {}
        TtlCache._every.add(self)

    @classmethod
    def clear_all(cls) -> None:
        """Forget every cached value (tests: a rolled-back row must not outlive its test)."""
        for cache in list(cls._every):
            cache.clear()

    def get_many(self, keys: Iterable[Hashable],
                 load: Callable[[list[Hashable]], dict[Hashable, object]]) -> dict[Hashable, object]:
        """Values for `keys`; the missing or expired ones come from one call to `load`."""
        now = time.monotonic()
        found, missing = {}, []
        for key in keys:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                found[key] = entry[1]
            else:
                missing.append(key)
        if missing:
            loaded = load(missing)
            if len(self._entries) + len(loaded) > self.max_size:
                self._entries.clear()
            for key, value in loaded.items():
                self._entries[key] = (now + self.seconds, value)
            found.update(loaded)
        return found

    def get(self, key: Hashable, load: Callable[[], object]) -> object:
        return self.get_many([key], lambda _: {key: load()})[key]

    def clear(self) -> None:
        self._entries.clear()
