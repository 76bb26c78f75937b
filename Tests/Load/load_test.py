#!/usr/bin/env python3
"""Load test of `quill serve` with wrk, on loopback only and bounded in time (`make load-test`).

Starts `quill serve` on a free loopback port (its defaults: a worker per core, a queue of twice the workers), checks
one write answers 200, then for each --clients level runs wrk for --seconds with that many connections, each
POSTing a 40-character line to /v1/write (Tests/Load/write.lua) as soon as it is answered (after a 503, once
Retry-After seconds have passed, unless --no-backoff). Prints, per level, the
2xx answers a second with their p50 and p99 latency, the 503s (the documented answer beyond the queue, each with
Retry-After) and anything else. Exit status 1 when a request failed any other way (another status, a socket error or
a timeout, a 503 without Retry-After); the server is stopped however the test ends.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT = "Quill writes by hand on an ordinary CPU."   # 40 characters


def die_with_parent():
    """Run in the server's child process: the kernel sends it SIGTERM if this script dies (even by SIGKILL)."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, q):
    """The q-th percentile (0…100) by linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def post_write(url):
    body = json.dumps({"text": TEXT, "bias": 1, "seed": 7}).encode()
    req = urllib.request.Request(url + "/v1/write", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, json.load(r)


def wait_healthy(url, server, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"load-test: quill serve exited with status {server.returncode}; see its log")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if json.load(r).get("status") == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"load-test: quill serve did not answer {url}/healthz within {seconds} s")


def run_level(wrk, url, clients, seconds, backoff):
    cmd = [wrk, "-t", str(clients), "-c", str(clients), "-d", f"{seconds}s", "--timeout", "60s",
           "-s", os.path.join(HERE, "write.lua"), url]
    env = dict(os.environ, LOAD_TEXT=TEXT, LOAD_BACKOFF="1" if backoff else "0")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    line = next((l for l in out.stdout.splitlines() if l.startswith("LOADTEST ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"load-test: wrk failed (exit {out.returncode}): {out.stderr.strip() or out.stdout[-500:]}")
    data = json.loads(line[len("LOADTEST "):])
    statuses, ok_ms, busy_ms, no_retry = {}, [], [], 0
    for t in data["threads"]:
        for status, n in t["statuses"].items():
            statuses[int(status)] = statuses.get(int(status), 0) + n
        ok_ms += t["ok_ms"]
        busy_ms += t["busy_ms"]
        no_retry += t["no_retry_after"]
    duration = data["duration_us"] / 1e6
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    busy = statuses.get(503, 0)
    other = {s: n for s, n in statuses.items() if not (200 <= s < 300) and s != 503}
    errors = {k: v for k, v in data["errors"].items() if k != "status" and v}
    return {"clients": clients, "seconds": round(duration, 2), "ok": ok, "ok_per_s": ok / duration,
            "p50_ms": percentile(ok_ms, 50), "p99_ms": percentile(ok_ms, 99), "busy": busy,
            "busy_per_s": busy / duration, "busy_p50_ms": percentile(busy_ms, 50), "no_retry_after": no_retry,
            "other_statuses": other, "socket_errors": errors}


def describe(r):
    fmt = lambda v: "n/a" if v is None else f"{v:.0f}"
    text = (f"{r['clients']:>2} clients, {r['seconds']:.0f} s: {r['ok']} × 200 ({r['ok_per_s']:.2f}/s), "
            f"latency p50 {fmt(r['p50_ms'])} ms, p99 {fmt(r['p99_ms'])} ms; {r['busy']} × 503 "
            f"({r['busy_per_s']:.0f}/s, p50 {r['busy_p50_ms'] or 0:.1f} ms)")
    if r["other_statuses"] or r["socket_errors"] or r["no_retry_after"]:
        text += (f"; FAILED: other statuses {r['other_statuses']}, socket errors {r['socket_errors']}, "
                 f"503 without Retry-After {r['no_retry_after']}")
    else:
        text += "; no other failure"
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quill", default=".build/release/quill")
    ap.add_argument("--wrk", default="wrk")
    ap.add_argument("--clients", default="8,32", help="comma-separated connection counts")
    ap.add_argument("--seconds", type=int, default=20, help="how long each level runs")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of all levels; >1 also prints the medians")
    ap.add_argument("--no-backoff", action="store_true",
                    help="ask again at once after a 503 instead of waiting Retry-After seconds")
    ap.add_argument("--serve-args", default="", help="more options for quill serve (e.g. --workers 2 --queue 4)")
    ap.add_argument("--out", default=".build/load-test", help="folder for the server log and results.json")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(os.path.join(args.out, "serve.log"), "w")
    server = subprocess.Popen([args.quill, "serve", "--host", "127.0.0.1", "--port", str(port)]
                              + args.serve_args.split(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                              preexec_fn=die_with_parent)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        wait_healthy(url, server, 120)
        status, answer = post_write(url)
        if status != 200 or not answer.get("lines"):
            raise SystemExit(f"load-test: the first write answered {status}")
        print(f"load-test: {url}, quill serve {args.serve_args or '(defaults)'}, {os.cpu_count()} cores, "
              f"load average before {open('/proc/loadavg').read().split()[0]}; each client POSTs "
              f"{{\"text\": \"{TEXT}\", \"bias\": 1, \"seed\": 7}} to /v1/write and "
              + ("asks again at once after a 503" if args.no_backoff else "waits Retry-After after a 503"))
        results, failed = [], False
        for round_ in range(1, args.repeat + 1):
            for clients in (int(c) for c in args.clients.split(",")):
                time.sleep(2)   # let the queue drain between levels
                r = run_level(args.wrk, url, clients, args.seconds, not args.no_backoff)
                r["round"] = round_
                results.append(r)
                failed |= bool(r["other_statuses"] or r["socket_errors"] or r["no_retry_after"])
                print(f"load-test: round {round_}: " + describe(r), flush=True)
        if args.repeat > 1:
            for clients in (int(c) for c in args.clients.split(",")):
                rs = [r for r in results if r["clients"] == clients]
                med = lambda key: statistics.median(r[key] for r in rs if r[key] is not None)
                print(f"load-test: median of {len(rs)} rounds, {clients:>2} clients: {med('ok_per_s'):.2f} × 200/s, "
                      f"p50 {med('p50_ms'):.0f} ms, p99 {med('p99_ms'):.0f} ms, {med('busy_per_s'):.1f} × 503/s")
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        return 1 if failed else 0
    except KeyboardInterrupt:
        print("load-test: interrupted")
        return 1
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


if __name__ == "__main__":
    sys.exit(main())
