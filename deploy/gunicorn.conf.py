"""gunicorn settings for Samlokal: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

See docs/deployment.md. Every value can be overridden on the command line.
"""

import os
from pathlib import Path

bind = os.environ.get("SAMLOKAL_BIND", "127.0.0.1:8000")
# Worker class and count, measured with bench/bench_load.py behind nginx (docs/performance.md,
# "Load: 200 staff"): gthread workers served 200 staff where sync ones queued for seconds.
# A page is mostly Python (about 45 ms CPU) with ~15 short PostgreSQL round trips; a sync
# worker sleeps through each round trip, a gthread worker's other threads use that time,
# and on a busy machine every wake-up of a sleeping process waits for a core. One worker
# per core (at least two, so one restarting or stuck never stops the site), 8 threads each.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = int(os.environ.get("WEB_CONCURRENCY", str(max(2, os.cpu_count() or 1))))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Behind nginx on the same machine; the app trusts X-Forwarded-* only with BEHIND_PROXY=1.
forwarded_allow_ips = "127.0.0.1"
timeout = 30
graceful_timeout = 20
# The app writes one JSON line per request itself (office/core/observability.py).
accesslog = None
errorlog = "-"


def _metrics_dir() -> Path | None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(path) if path else None


def on_starting(server):
    """Start the metrics of every worker from zero: old files would be summed in."""
    # A SAMLOKAL_NOW rehearsal clock starts here, once: every worker, restarted ones too, shares it.
    import office.core.clock  # noqa: F401
    path = _metrics_dir()
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob("*.db"):
            old.unlink()


def child_exit(server, worker):
    """A finished worker's counts stay summed; its live gauges go."""
    if _metrics_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
