"""Matching cost against the number of loaded scenarios: 10 beside 10,000, side by side under wrk.

    python -m tests.benchmarks.bench_matching [--duration 3] [--rounds 3] [--connections 32]

Every scenario is pinned to a model and an exact question (as recordings are), and the request asks the last one,
so a scan would try them all. A third server loads 10,000 scenarios that only `contains` a word, which no index can
narrow: the cost of a scan, for comparison. Needs `wrk` (`apt-get install -y wrk`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks.bench_http import free_port, run_wrk, wait_until_up


def scenario_file(count: int, exact: bool) -> str:
    scenarios = []
    for number in range(count):
        question = f"question number {number}, please"
        match = {"model": "gpt-4.1", "input": {"equals": question} if exact else {"contains": question}}
        scenarios.append({"name": f"q{number}", "match": match, "response": {"text": f"Answer {number}."}})
    return json.dumps({"scenarios": scenarios})  # JSON is YAML


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    setups = {
        "10 scenarios": (10, True),
        "10,000 scenarios (model + exact question)": (10_000, True),
        "10,000 scenarios (contains: no index)": (10_000, False),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        processes: list[subprocess.Popen[bytes]] = []
        urls: dict[str, tuple[str, Path]] = {}
        try:
            for name, (count, exact) in setups.items():
                scenarios = folder / f"{count}-{exact}.yaml"
                scenarios.write_text(scenario_file(count, exact))
                script = folder / f"{count}-{exact}.lua"
                body = {"model": "gpt-4.1", "input": f"question number {count - 1}, please"}
                script.write_text(
                    f"wrk.method = \"POST\"\nwrk.body = '{json.dumps(body)}'\n"
                    'wrk.headers["Content-Type"] = "application/json"\n'
                )
                port = free_port()
                command = [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--log-level", "warning"]
                processes.append(subprocess.Popen([*command, "--scenarios", str(scenarios)], stdout=subprocess.DEVNULL))
                url = f"http://127.0.0.1:{port}/v1/responses"
                wait_until_up(url, timeout=60)
                urls[name] = (url, script)
            results: dict[str, list[float]] = {name: [] for name in setups}
            for _ in range(args.rounds):
                for name, (url, script) in urls.items():
                    results[name].append(run_wrk(url, args.duration, args.connections, script, timeout_s=60))
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
    base = statistics.median(results["10 scenarios"])
    print(
        f"wrk -t1 -c{args.connections} -d{args.duration}s, the request matches the last scenario, "
        f"medians of {args.rounds}"
    )
    print(f"{'scenarios loaded':<44} {'req/s':>8} {'x 10':>6}")
    for name, figures in results.items():
        median = statistics.median(figures)
        print(f"{name:<44} {median:>8,.0f} {median / base:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
