#!/usr/bin/env python3
"""How soon after an edit does a push client get fresh risk diagnostics for the edited file?

Starts `repolens serve` on --root, waits until the first risk diagnostics are pushed (index,
graph, history and risk done), opens --file with its text repeated until it has at least
--lines lines, then sends --edits incremental didChange notifications (a comment line inserted
in the middle and removed again, alternately), each time waiting for the publishDiagnostics of
that version. Reports p50/p95 of send → publish (what the editor sees, framing included), and
the server's own "published … ms after the edit" log lines (edit applied → publish).

    python3 bench/risk_latency.py --bin target/release/repolens --root /tmp/repo \
        --file src/pkg/module.py --lines 3000 --edits 40
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def send(proc, msg):
    body = json.dumps(msg).encode()
    proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    proc.stdin.flush()


def read(proc):
    length = None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("server closed stdout")
        line = line.strip()
        if not line:
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(proc.stdout.read(length))


def wait_for(proc, pred, deadline_s=600):
    end = time.time() + deadline_s
    while time.time() < end:
        msg = read(proc)
        if "id" in msg and "method" in msg:  # a server request: answer it
            send(proc, {"jsonrpc": "2.0", "id": msg["id"], "result": None})
            continue
        if pred(msg):
            return msg
    raise SystemExit("timed out")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/repolens")
    ap.add_argument("--root", required=True)
    ap.add_argument("--file", required=True, help="workspace-relative path of a Python file")
    ap.add_argument("--lines", type=int, default=3000)
    ap.add_argument("--edits", type=int, default=40)
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    log = tempfile.NamedTemporaryFile(suffix=".log", delete=False).name
    cache = tempfile.mkdtemp()
    proc = subprocess.Popen([args.bin, "serve", "--log-file", log, "--log", "repolens=debug"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    started = time.time()
    send(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "processId": None, "rootUri": "file://" + root,
        "capabilities": {"general": {"positionEncodings": ["utf-16"]},
                         "textDocument": {"publishDiagnostics": {"versionSupport": True}}},
        "initializationOptions": {"cacheDir": cache}}})
    wait_for(proc, lambda m: m.get("id") == 1)
    send(proc, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
    wait_for(proc, lambda m: m.get("method") == "textDocument/publishDiagnostics"
             and any(d["code"].startswith("risk/") for d in m["params"]["diagnostics"]))
    ready_s = time.time() - started

    path = os.path.join(root, args.file)
    uri = "file://" + path
    base = open(path, encoding="utf-8").read()
    text = base
    while text.count("\n") < args.lines:
        text += "\n" + base
    n_lines = text.count("\n")
    send(proc, {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": text}}})
    is_pub = lambda v: (lambda m: m.get("method") == "textDocument/publishDiagnostics"
                        and m["params"]["uri"] == uri and m["params"].get("version") == v)
    wait_for(proc, is_pub(1))
    mid = n_lines // 2
    latencies = []
    for i in range(args.edits):
        version = i + 2
        if i % 2 == 0:
            change = {"range": {"start": {"line": mid, "character": 0}, "end": {"line": mid, "character": 0}},
                      "text": "# edited\n"}
        else:
            change = {"range": {"start": {"line": mid, "character": 0}, "end": {"line": mid + 1, "character": 0}},
                      "text": ""}
        t0 = time.perf_counter()
        send(proc, {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}})
        wait_for(proc, is_pub(version))
        latencies.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.05)
    send(proc, {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None})
    wait_for(proc, lambda m: m.get("id") == 2)
    send(proc, {"jsonrpc": "2.0", "method": "exit", "params": None})
    proc.wait(timeout=30)
    server = [float(x) for x in re.findall(r"published ([0-9.]+) ms after the edit", open(log).read())]
    q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]
    print(json.dumps({
        "file": args.file, "lines": n_lines, "edits": len(latencies),
        "ready_s": round(ready_s, 2),
        "client_ms": {"p50": round(statistics.median(latencies), 1), "p95": round(q(latencies, 0.95), 1)},
        "server_ms": {"p50": round(statistics.median(server), 1), "p95": round(q(server, 0.95), 1)}
        if server else None,
    }))


if __name__ == "__main__":
    main()
