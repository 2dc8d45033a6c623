"""A closed-loop HTTP load generator: N client threads, each on its own keep-alive connection, for T seconds."""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.deploy import Http
from bench.harness import percentile


def load(port: int, path: str, clients: int, seconds: float, token: str | None = None) -> dict[str, Any]:
    """Requests/s, p50 and p99 latency (ms) and errors of GET `path` by `clients` clients for `seconds`."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        http = Http(port, token)
        http.request("GET", path)  # connect and warm up outside the clock
        start.wait()
        deadline = time.perf_counter() + seconds
        while (now := time.perf_counter()) < deadline:
            status, _ = http.request("GET", path)
            latencies[index].append(time.perf_counter() - now)
            errors[index] += status != 200

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = [v for chunk in latencies for v in chunk]
    return {"rps": len(every) / elapsed, "p50_ms": percentile(every, 50) * 1e3,
            "p99_ms": percentile(every, 99) * 1e3, "requests": len(every), "errors": sum(errors)}
