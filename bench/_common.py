"""What every benchmark shares: the hello-world floor and the timing loop.

Imported as `bench._common` (the scripts put the repository root on sys.path first).
"""

from __future__ import annotations

import statistics
import subprocess
import time

from flask import Flask

# The floor of any in-process or gunicorn figure: the cheapest Flask answer there is
# (gunicorn serves it as "bench._common:hello").
hello = Flask("hello")


@hello.get("/")
def hello_world():
    return "Hello, World!"


def timed(function, repeat: int) -> list[float]:
    """Seconds per call, one sample per call."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


def timed_ms(function, repeat: int) -> list[float]:
    """Milliseconds per call, one sample per call."""
    return [seconds * 1000 for seconds in timed(function, repeat)]


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (1-99); a single value is its own percentile."""
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """End a server a bench started: asked first (SIGTERM), killed if it does not go."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)
