#!/usr/bin/env python3
"""Warm `repolens/ask` latency in the server, the way an editor sees it.

Starts `repolens serve` over stdio on ROOT, waits until the first question is answered (which
waits for the index), then asks each question ROUNDS times, round-robin, timing each request from
sending to the response. Prints p50/p95/max over all the warm requests. No model is used (the
`llm` settings are disabled), so this is retrieval plus the extractive answer.

    python3 bench/ask_latency.py --repolens target/release/repolens --root /tmp/bench/Django-5.0
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

QUESTIONS = [
    "where are passwords hashed?",
    "how does make_password choose a hasher?",
    "where is the CSRF token checked?",
    "QuerySet.filter with Q objects",
    "how are migrations squashed?",
    "where does the test runner create the test database?",
    "TemplateSyntaxError: Invalid block tag",
    "how does the cache middleware decide to cache a response?",
    "where is the session cookie set?",
    "how are URL patterns resolved to views?",
    "what does get_object_or_404 do?",
    "how are signals connected and sent?",
]


class Client:
    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env)
        self.next_id = 0

    def send(self, message):
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def read(self):
        length = None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the server closed its output")
            line = line.strip()
            if not line:
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.proc.stdout.read(length))

    def request(self, method, params):
        self.next_id += 1
        rid = self.next_id
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        while True:
            message = self.read()
            if "method" in message and "id" in message:  # a request from the server
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            elif "method" not in message and message.get("id") == rid:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repolens", default="target/release/repolens")
    parser.add_argument("--root", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache-dir", help="REPOLENS_CACHE_DIR for the server")
    args = parser.parse_args()

    env = dict(os.environ)
    if args.cache_dir:
        env["REPOLENS_CACHE_DIR"] = args.cache_dir
    root = os.path.abspath(args.root)
    client = Client([args.repolens, "serve"], env)
    client.request("initialize", {
        "processId": os.getpid(),
        "rootUri": "file://" + root,
        "capabilities": {"general": {"positionEncodings": ["utf-8"]}},
        "initializationOptions": {"llm": {"enabled": False}},
    })
    client.notify("initialized", {})
    started = time.perf_counter()
    client.request("repolens/ask", {"question": QUESTIONS[0]})
    first = time.perf_counter() - started
    samples = []
    for _ in range(args.rounds):
        for question in QUESTIONS:
            t0 = time.perf_counter()
            client.request("repolens/ask", {"question": question})
            samples.append((time.perf_counter() - t0) * 1000)
    client.request("shutdown", None)
    client.notify("exit", None)
    client.proc.wait(timeout=30)
    print(f"first answer (includes indexing or loading the cache): {first:.2f} s", file=sys.stderr)
    print(f"warm repolens/ask over {len(samples)} requests: p50 {statistics.median(samples):.1f} ms, "
          f"p95 {percentile(samples, 95):.1f} ms, max {max(samples):.1f} ms")


if __name__ == "__main__":
    main()
