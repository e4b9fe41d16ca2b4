"""Every wait in a test has a deadline: a hang fails the test and says what it waited for.

Threads that tests start are daemons, so one that never finishes cannot keep the test
worker from exiting either.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Iterable


def start_threads(target: Callable, args_list: Iterable[tuple] = ((), ())) -> list[threading.Thread]:
    """One daemon thread per argument tuple, started."""
    threads = [threading.Thread(target=target, args=args, daemon=True) for args in args_list]
    for thread in threads:
        thread.start()
    return threads


def join_all(threads: Iterable[threading.Thread], seconds: float, what: str) -> None:
    """Wait for every thread, `seconds` in all; fail naming `what` if one is still running."""
    threads = list(threads)
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    running = sum(thread.is_alive() for thread in threads)
    assert not running, f"{what}: {running} of {len(threads)} threads still running after {seconds:g} s"


def wait_until(condition: Callable[[], bool], seconds: float, what: str | Callable[[], str],
               every: float = 0.01) -> None:
    """Poll `condition` until it holds; fail after `seconds` with `what` (or what it returns)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what() if callable(what) else what}: not within {seconds:g} s")
        time.sleep(every)
