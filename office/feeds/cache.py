"""Process-local caches of feed bytes: only caches, never the truth.

Each event's VEVENT bytes are kept by what makes them (a reservation's id, updated_at and
sequence; a plug-in event's whole value), whole bodies and their gzip by the ETag. A
changed item gets a new key, so nothing is ever invalidated by hand; the LRUs drop what is
not asked for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class LRU:
    """A small thread-safe LRU of bytes, bounded by items and by total size."""

    def __init__(self, max_items: int, max_bytes: int | None = None):
        self.max_items, self.max_bytes = max_items, max_bytes
        self.bytes = 0
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def get_many(self, keys: list) -> list:
        with self._lock:
            data = self._data
            found = [data.get(key) for key in keys]
            for key, value in zip(keys, found):
                if value is not None:
                    data.move_to_end(key)
            return found

    def put(self, key, value: bytes) -> None:
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.bytes -= len(old)
            self._data[key] = value
            self.bytes += len(value)
            while self._data and (len(self._data) > self.max_items or (
                    self.max_bytes is not None and self.bytes > self.max_bytes)):
                _key, dropped = self._data.popitem(last=False)
                self.bytes -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._data)


EVENT_CACHE = LRU(max_items=200_000, max_bytes=256 * 1024 * 1024)
BODY_CACHE = LRU(max_items=512, max_bytes=128 * 1024 * 1024)
GZIP_CACHE = LRU(max_items=512, max_bytes=32 * 1024 * 1024)


def clear() -> None:
    for cache in (EVENT_CACHE, BODY_CACHE, GZIP_CACHE):
        cache.clear()
