"""How often a feed may be fetched: FEED_RATE_LIMIT per secret link or per client address.

With a fast shared Flask-Limiter storage (redis://, memcached://, valkey://) the count goes
there, so every worker sees it. Otherwise a per-process fixed window does the job: the
feed limit only stops a runaway client, and a database write per poll (our default shared
storage, samlokal+db://, meant for login throttling) would cost a 304 poll many times
what everything else in it costs; limits' memory:// storage also starts a timer thread
every 10 ms of traffic. With N worker processes a link may be polled up to N times
FEED_RATE_LIMIT; login throttling stays shared (office/core/rate_limits.py).
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache
from time import monotonic

from flask import current_app

from office.core import clock
from office.core.extensions import limiter

DEFAULT_RATE_LIMIT = "60 per minute"
SHARED_FAST_STORAGES = ("redis", "memcached", "valkey")


def allow_poll(key: str, config=None) -> int:
    """Count one fetch against `key`'s limit: 0 when allowed, else seconds until it is.

    `key` is what is counted: a token's hash (never the token itself) or "addr:<ip>".
    `config`: the app's, for a caller outside its context (the 304 fast path).
    """
    if config is None:
        config = current_app.config
    if not limiter.enabled or not config.get("RATELIMIT_ENABLED", True):
        return 0
    item = _rate_item(config.get("FEED_RATE_LIMIT", DEFAULT_RATE_LIMIT))
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "")
    if not storage.startswith(SHARED_FAST_STORAGES):
        return _WINDOWS.hit(item.amount, item.get_expiry(), key)
    if limiter.limiter.hit(item, "feed", key):
        return 0
    reset = limiter.limiter.get_window_stats(item, "feed", key).reset_time
    return max(1, math.ceil(reset - clock.machine_now().timestamp()))


class FixedWindows:
    """Fixed-window counters per key in this process (the semantics of limits' memory://)."""

    def __init__(self, max_keys: int = 100_000):
        self.max_keys = max_keys
        self._counts: dict[str, list] = {}
        self._lock = threading.Lock()

    def hit(self, amount: int, seconds: int, key: str) -> int:
        """0 when this hit is within the limit, else the seconds until the window ends."""
        moment = monotonic()
        window = int(moment // seconds)
        with self._lock:
            entry = self._counts.get(key)
            if entry is None or entry[0] != window:
                if len(self._counts) >= self.max_keys:
                    self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
                entry = self._counts[key] = [window, 0]
            entry[1] += 1
            if entry[1] <= amount:
                return 0
        return max(1, math.ceil((window + 1) * seconds - moment))

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


_WINDOWS = FixedWindows()


def clear() -> None:
    _WINDOWS.clear()


@lru_cache(maxsize=8)
def _rate_item(rate: str):
    from limits import parse

    return parse(rate)
