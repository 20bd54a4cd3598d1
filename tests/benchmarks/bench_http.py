"""Throughput of mockserver against a bare Starlette app on the same uvicorn settings, side by side.

    python -m tests.benchmarks.bench_http [--duration 5] [--connections 32] [--rounds 3]

Needs `wrk` (`apt-get install -y wrk`). Each server runs in its own process on a free 127.0.0.1 port; the bare app
answers with the bytes and headers mockserver answered the same request with; wrk sends the same non-streaming POST
to each in turn, `rounds` times, and the table gives medians and the ratio to bare Starlette
(machines are shared and noisy, so only ratios measured in one sitting mean much).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BODY = {"model": "gpt-4.1", "input": "hello"}
# The bare app sends the same answer, headers included (the API's x-request-id, x-ratelimit-* …): only what the
# server stack adds by itself is left out.
TRANSPORT_HEADERS = {"date", "server", "content-length", "content-type", "transfer-encoding", "connection"}

BARE_APP = """
import json
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

PAYLOAD = open(sys.argv[2], "rb").read()
HEADERS = json.load(open(sys.argv[3]))

async def answer(request):
    await request.body()
    return Response(PAYLOAD, media_type="application/json", headers=HEADERS)

app = Starlette(routes=[Route("/v1/responses", answer, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, timeout: float = 15.0) -> float:
    """Seconds until the first 2xx answer to the benchmark request."""
    started = time.perf_counter()
    request = urllib.request.Request(
        url,
        data=json.dumps(BODY).encode(),
        headers={"content-type": "application/json", "authorization": "Bearer sk-test"},
    )
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(request, timeout=1) as answer:
                answer.read()
                return time.perf_counter() - started
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def run_wrk(url: str, duration: int, connections: int, script: Path, timeout_s: int = 2) -> float:
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", f"--timeout={timeout_s}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match or "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk reported errors:\n{output}")
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        script = folder / "post.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            f"wrk.body = '{json.dumps(BODY)}'\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            'wrk.headers["Authorization"] = "Bearer sk-test"\n'
        )
        servers: dict[str, tuple[list[str], int]] = {}
        mock_port = free_port()
        servers["mockserver (validation on)"] = (
            [sys.executable, "-m", "mockserver", "serve", "--port", str(mock_port), "--log-level", "warning"],
            mock_port,
        )
        bare_port = free_port()
        bare_script = folder / "bare.py"
        bare_script.write_text(BARE_APP)
        processes = {}
        startup = {}
        try:
            for name, (command, port) in servers.items():
                started = time.perf_counter()
                processes[name] = subprocess.Popen(command, stdout=subprocess.DEVNULL)
                wait_until_up(f"http://127.0.0.1:{port}/v1/responses")
                startup[name] = time.perf_counter() - started
            payload = folder / "payload.json"
            headers = folder / "headers.json"
            with urllib.request.urlopen(
                urllib.request.Request(
                    f"http://127.0.0.1:{mock_port}/v1/responses",
                    data=json.dumps(BODY).encode(),
                    headers={"content-type": "application/json", "authorization": "Bearer sk-test"},
                )
            ) as answer:
                payload.write_bytes(answer.read())
                headers.write_text(
                    json.dumps(
                        {name: value for name, value in answer.headers.items() if name.lower() not in TRANSPORT_HEADERS}
                    )
                )
            started = time.perf_counter()
            processes["bare Starlette, same bytes"] = subprocess.Popen(
                [sys.executable, str(bare_script), str(bare_port), str(payload), str(headers)]
            )
            servers["bare Starlette, same bytes"] = ([], bare_port)
            wait_until_up(f"http://127.0.0.1:{bare_port}/v1/responses")
            startup["bare Starlette, same bytes"] = time.perf_counter() - started
            results: dict[str, list[float]] = {name: [] for name in servers}
            for _ in range(args.rounds):
                for name, (_, port) in servers.items():
                    url = f"http://127.0.0.1:{port}/v1/responses"
                    results[name].append(run_wrk(url, args.duration, args.connections, script))
        finally:
            for process in processes.values():
                process.terminate()
                process.wait(timeout=10)
    bare = statistics.median(results["bare Starlette, same bytes"])
    print(f"wrk -t1 -c{args.connections} -d{args.duration}s, POST {json.dumps(BODY)}, medians of {args.rounds}")
    print(f"{'server':<30} {'req/s':>10} {'x bare':>8} {'start to first 2xx':>20}")
    for name, figures in results.items():
        median = statistics.median(figures)
        print(f"{name:<30} {median:>10,.0f} {median / bare:>8.2f} {startup[name]:>19.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
