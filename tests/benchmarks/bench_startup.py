"""Start-up times: the pytest fixture's server and `mockserver serve`, each to its first answered request.

    python -m tests.benchmarks.bench_startup [--runs 10]

Each run is a fresh Python process (imports included), so the figures are what a test session or a CI job pays.
Prints the median and the spread over the runs.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

FIXTURE_RUN = """
import json, time, urllib.request
started = time.perf_counter()
from mockserver import MockServer, Settings
server = MockServer(Settings(port=0, log_level="warning")).start()
request = urllib.request.Request(server.base_url + "/responses", data=b'{"model":"gpt-4.1","input":"hello"}',
                                 headers={"content-type": "application/json", "authorization": "Bearer sk-test"})
urllib.request.urlopen(request).read()
print(time.perf_counter() - started)
server.stop()
"""


def fixture_startup() -> float:
    output = subprocess.run([sys.executable, "-c", FIXTURE_RUN], capture_output=True, text=True, check=True).stdout
    return float(output.strip())


def serve_startup() -> float:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    body = json.dumps({"model": "gpt-4.1", "input": "hello"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/responses",
        data=body,
        headers={"content-type": "application/json", "authorization": "Bearer sk-test"},
    )
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(request, timeout=1) as answer:
                    answer.read()
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.005)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    for name, measure in (("fixture server (MockServer)", fixture_startup), ("mockserver serve", serve_startup)):
        figures = [measure() for _ in range(args.runs)]
        print(
            f"{name:<30} median {statistics.median(figures):.3f} s  "
            f"(min {min(figures):.3f}, max {max(figures):.3f}, {args.runs} runs, imports included)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
