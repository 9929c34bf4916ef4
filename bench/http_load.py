"""A small HTTP load generator, run as its own process: threads POSTing JSON to one URL on
127.0.0.1, bounded in count and time. Prints one JSON object: requests, errors, seconds,
requests per second and latency percentiles (ms).

    python bench/http_load.py --url http://127.0.0.1:8765/api/time-entries/ \
        --clients clients.json --threads 8 --requests 2000 --seconds 20

clients.json: [{"token": "...", "bodies": [{...}, ...]}, ...]; thread i uses client
i % len(clients) and cycles through its bodies.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from urllib.parse import urlsplit


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (0 when there are no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def run(
    url: str, clients: list[dict[str, object]], threads: int, requests: int, seconds: float
) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    taken = [0]
    started = time.perf_counter()
    deadline = started + seconds

    def worker(index: int) -> None:
        client = clients[index % len(clients)]
        bodies = [json.dumps(body).encode() for body in client["bodies"]]  # type: ignore[attr-defined]
        headers = {
            "Authorization": f"Token {client['token']}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        sent = 0
        connection: http.client.HTTPConnection | None = None
        while time.perf_counter() < deadline:
            with lock:
                if taken[0] >= requests:
                    return
                taken[0] += 1
            body = bodies[sent % len(bodies)]
            sent += 1
            begin = time.perf_counter()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(host, port, timeout=30)
                connection.request("POST", parts.path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
                ok = response.status in (200, 201)
            except (OSError, http.client.HTTPException) as error:
                ok = False
                response = None
                if connection is not None:
                    connection.close()
                connection = None
                with lock:
                    errors.append(type(error).__name__)
            elapsed = time.perf_counter() - begin
            with lock:
                if ok:
                    latencies.append(elapsed)
                elif response is not None:
                    errors.append(str(response.status))

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",  # type: ignore[dict-item]
        "seconds": round(wall, 3),
        "rps": round(len(latencies) / wall, 1) if wall else 0.0,
        "p50_ms": round(1000 * percentile(latencies, 0.50), 2),
        "p95_ms": round(1000 * percentile(latencies, 0.95), 2),
        "p99_ms": round(1000 * percentile(latencies, 0.99), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--clients", required=True, help="a JSON file (see above)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    if urlsplit(args.url).hostname not in ("127.0.0.1", "localhost"):
        parser.error("loopback only")
    with open(args.clients, encoding="utf-8") as handle:
        clients = json.load(handle)
    print(json.dumps(run(args.url, clients, args.threads, args.requests, args.seconds)))


if __name__ == "__main__":
    main()
