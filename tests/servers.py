"""Real gunicorn servers on loopback ports for the tests that need separate processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.request import urlopen

from office.core import clock
from tests.deadlines import join_all, start_threads

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn_servers(count: int, database_url: str, instance: Path, workers: int = 1,
                     **environment: str):
    """Start `count` gunicorn servers on one database; yield their base URLs.

    The servers run on the test's clock (office/core/clock.py), moved or not.
    """
    servers = []
    try:
        for n in range(count):
            port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "SECRET_KEY": "one key for every server",
                "SAMLOKAL_INSTANCE_PATH": str(instance / f"server{n}"),
                "SAMLOKAL_NO_MODULE_APP": "0",
                "PASSWORD_HASH_TIME_COST": "1",
                "PASSWORD_HASH_MEMORY_COST": "8",
                "SAMLOKAL_BIND": f"127.0.0.1:{port}",
                "WEB_CONCURRENCY": str(workers),
                **clock.environment(),
                **environment,
            }
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            servers.append((process, f"http://127.0.0.1:{port}"))
        for process, base in servers:
            _wait_until_serving(process, base)
        yield [base for _, base in servers]
    finally:
        for process, _ in servers:
            process.terminate()
        for process, _ in servers:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(20)


def _wait_until_serving(process: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn for {base} exited with {process.returncode}")
        try:
            urlopen(base + "/login", timeout=5).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn for {base} did not answer")


def post_all_at_once(clients, path: str, forms: list[dict], timeout: float = 120) -> list:
    """POST forms[n] from clients[n], all released together by a barrier; results in order."""
    import threading

    barrier = threading.Barrier(len(clients), timeout=timeout)
    results: list = [None] * len(clients)

    def race(n: int) -> None:
        barrier.wait()
        results[n] = clients[n].request(path, forms[n])

    join_all(start_threads(race, [(n,) for n in range(len(clients))]), timeout, "the racing POSTs")
    return results
