"""Seeded fuzz of the real app server: hostile and careless requests to every API endpoint.

    python benchmarks/fuzz_app.py                      # 1,200 requests, seed 0 (about 10-20 min on 1 CPU)
    python benchmarks/fuzz_app.py --requests 200       # the bounded subset CI runs

Starts `python app.py` on a free loopback port (the shipped checkpoint unless --checkpoint, a fresh
user-style folder), then sends requests through gradio_client and as raw HTTP to /gradio_api/call/<name>
with NaN / Infinity literals, wrong JSON types, NUL bytes, lone surrogates, deep JSON, markup, huge
numbers and the heavy cases of issue 14 (a 40-line GIF at speed 0.1, an 800 mm sheet at 600 dpi, a tiny
ink with absurd spans). Every request is classified:

- ok / refused: a result, or an error the app raised itself (it has a title and a message);
- crash: an error raised inside Gradio before the app's checks ran (no message: `{"error": null}`, or
  gradio_client's generic "has raised an exception");
- unexpected: the app's own "Unexpected error" (an exception its checks did not name);
- slow: over --slow_ratio times the reference write (default 100), or over --slow_s seconds when
  given. The reference is a plain one-line /write timed on the same server before the fuzz (median of
  3), so the limit scales with the machine: a slow CPU makes every request slower, not more of them
  "slow".

A message that names a server folder (this checkout, the server's working folder, the temp folder) is
counted apart, as a path leak.

After the random requests come three scenarios of issue 28 (their requests are classified the same
way, and counted apart as `scenario_requests`):

- NaN seeds: every endpoint with a seed, sent a raw JSON NaN seed, must refuse it naming the seed
  (`nan_seeds_accepted`, target 0);
- a full style bank: one client makes styles until user_styles/ (--max_user_styles, 8 here) is full
  and then some; another client must still make a style and write with it (`lockouts`, target 0);
- a proxy: one request with X-Forwarded-For to this loopback server; from then on the server must keep
  styles per session: /info says so, a new client sees none of the shared styles, and its new style is
  for its session only (`proxy_not_private`, target 0).

It also counts tracebacks in the server's log and measures the server's RSS before and after the fuzz
(after one warm-up request per endpoint). Prints one summary line per figure and writes --report JSON.
Exit status 1 when any figure misses the issue's target (0 crashes, 0 unexpected, 0 tracebacks, 0 slow,
RSS growth <= 200 MB, 0 path leaks, and the three scenarios' zeros), so CI can run the bounded mode.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RSS_MB = 200.0

NAN, INF = float("nan"), float("inf")
DEEP = "[" * 5000 + "]" * 5000
HOSTILE = [NAN, INF, -INF, 1e308, -1, 0, 2**70, -(2**70), 3.5, "abc", "", "3", " ", [], [1, 2], {}, {"a": 1},
           None, True, False, "a\x00b", "x" * 300, "\ud800", "<img src=x onerror=alert(1)>", DEEP,
           "../../../etc/passwd", "/etc/passwd", "NaN", "Infinity", "1e9", [[[]]], {"text": 5}]
PHRASES = ["Hello world", "The quick brown fox", "Report due by 09:00", "a", "Can't stop now!",
           "lazy dog 123", "ok"]


def valid_ink(rng: random.Random, absurd: bool = False) -> str:
    if absurd:     # issue 14 item 2: 459 bytes that once cost 16 s and 1.5 GB
        return json.dumps([[[i * 1e6, (i % 2) * 10] for i in range(25)]])
    strokes, x = [], 50.0
    for _ in range(rng.randint(2, 4)):
        pts = [[x + t * 3.0, 100 - 20 * math.sin(t / 2.0)] for t in range(rng.randint(20, 40))]
        strokes.append(pts)
        x += 130
    return json.dumps({"strokes": strokes})


def valid_value(name: str, endpoint: str, rng: random.Random, heavy: bool):
    """A value the app should accept for this parameter (heavy: the issue's costly cases)."""
    if name == "lines":
        n = 40 if heavy else rng.randint(1, 3)
        return [{"text": rng.choice(PHRASES), "style": rng.choice([None, 0, 3])} for _ in range(n)]
    table = {
        "text": (lambda: "hello world" if endpoint == "/make_style" else
                 (" ".join(rng.choice(PHRASES) for _ in range(60)) if heavy else rng.choice(PHRASES))),
        "style": lambda: rng.choice([None, 0, 5, 12]),
        "bias": lambda: rng.choice([0.75, 0.0, 2.5, 4.0]),
        "color": lambda: rng.choice(["#000000", "navy", "#123", "rgb(10, 20, 30)"]),
        "width": lambda: rng.choice([1.5, 0.2, 10.0]),
        "wrap_at": lambda: rng.choice([60, 5, 90]),
        "seed": lambda: rng.choice([None, 0, 7, 2**32 - 1]),
        "png_dpi": lambda: 600 if heavy else rng.choice([96, 192, 24]),
        "align": lambda: rng.choice(["left", "center", "right"]),
        "checkpoint": lambda: "",
        "paper": lambda: (rng.choice(["a4", "a5", "letter"]) if endpoint == "/write_plotter"   # the plotter's sheet
                          else rng.choice(["", "plain", "ruled", "grid", "dotted"])),       # else the paper kind
        "document": lambda: json.dumps({"scribe_document": 1, "seed": rng.randint(0, 99),
                                        "lines": [{"text": rng.choice(PHRASES), "style": rng.choice([None, 0, 3])}]}),
        "landscape": lambda: rng.choice([True, False]),
        "margin_mm": lambda: rng.choice([15, 0, 20]),
        "pen_up": lambda: "G0 Z5", "pen_down": lambda: "G0 Z0",
        "draw_feed": lambda: rng.choice([1500.0, 300.0]), "travel_feed": lambda: rng.choice([0, 3000.0]),
        "origin": lambda: rng.choice(["bottom-left", "top-left", "center"]),
        "units": lambda: rng.choice(["mm", "in"]),
        "speed": lambda: 0.1 if heavy else rng.choice([1.0, 3.0]),
        "loop": lambda: rng.choice([True, False]),
        "gif": lambda: heavy or rng.random() < 0.3,
        "page": lambda: "none" if heavy else rng.choice(["a4", "a5", "none"]),
        "width_mm": lambda: 800 if heavy else rng.choice([0, 120]),
        "size_mm": lambda: 40 if heavy else rng.choice([6, 4]),
        "line_spacing": lambda: 1.7, "variation": lambda: rng.choice([0, 1]),
        "ink": lambda: valid_ink(rng, absurd=heavy),
        "file": lambda: None,
    }
    return table[name]() if name in table else None


def make_request(api: dict, rng: random.Random) -> tuple[str, dict, str]:
    """(endpoint, {param: value}, kind) for one request."""
    endpoint = rng.choice(sorted(api))
    params = api[endpoint]
    heavy = rng.random() < 0.03
    kw = {p: valid_value(p, endpoint, rng, heavy) for p in params}
    kind = "heavy" if heavy else "valid"
    if params and rng.random() < 0.6:
        for p in rng.sample(params, k=min(len(params), rng.randint(1, 3))):
            kw[p] = rng.choice(HOSTILE)
        kind = "hostile"
    return endpoint, kw, kind


# ---- the two ways in ------------------------------------------------------------------------------------
SERVER_FOLDERS: list[str] = []     # set once the server runs: folders no message may name


def leaks(text: str) -> bool:
    return any(f in text for f in SERVER_FOLDERS)


def via_client(client, endpoint: str, kw: dict, timeout: float) -> tuple[str, str]:
    from gradio_client.exceptions import AppError
    try:
        job = client.submit(**kw, api_name=endpoint)
        out = job.result(timeout=timeout)
        if endpoint == "/info" and leaks(json.dumps(out)):
            return "leak", json.dumps(out)[:200]
        return "ok", ""
    except AppError as e:
        msg = str(getattr(e, "message", e) or "")
        title = getattr(e, "title", "") or ""
        if "has raised an exception" in msg or not msg:
            return "crash", msg[:200]
        if title == "Unexpected error" or "Something went wrong" in msg:
            return "unexpected", msg[:200]
        if leaks(msg):
            return "leak", msg[:200]
        return "refused", f"{title}: {msg[:160]}"
    except TimeoutError:
        return "slow", "no answer within the timeout"
    except Exception as e:   # the client could not even send it (e.g. a value it cannot serialise)
        return "client", f"{type(e).__name__}: {str(e)[:160]}"


def via_http(base: str, endpoint: str, kw: dict, params: list[str], rng: random.Random | None,
             timeout: float, headers: dict | None = None) -> tuple[str, str]:
    """One raw call; rng None sends `kw` as it is (the scenarios)."""
    name = endpoint.lstrip("/")
    data = [kw[p] for p in params]
    if rng is not None and "file" in params and rng.random() < 0.3:  # a client naming a server path as the upload
        data[params.index("file")] = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}
    if rng is not None and rng.random() < 0.1:                       # wrong arity or a wrong body shape
        data = rng.choice([data[:-1] if data else [1], data + [1, 2], {"lines": 1}, "text", None])
    body = json.dumps({"data": data}, allow_nan=True)   # NaN / Infinity / -Infinity literals
    req = urllib.request.Request(f"{base}gradio_api/call/{name}", body.encode("utf-8", "surrogatepass"),
                                 {"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            event_id = json.load(r)["event_id"]
        with urllib.request.urlopen(f"{base}gradio_api/call/{name}/{event_id}", timeout=timeout) as r:
            stream = r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        code = e.code
        text = e.read()[:200].decode("utf-8", "replace")
        # 4xx with a body: Gradio refused the request shape itself, typed and before any handler ran
        return ("refused", f"HTTP {code}: {text}") if 400 <= code < 500 else ("crash", f"HTTP {code}: {text}")
    except (TimeoutError, OSError) as e:
        return "slow", f"{type(e).__name__}: no answer within {timeout:g}s"
    events = re.findall(r"event: (\w+)\ndata: (.*)", stream)
    if not events:
        return "crash", f"no event in {stream[:100]!r}"
    kind, payload = events[-1]
    if kind == "complete":
        return ("leak", payload[:200]) if name == "info" and leaks(payload) else ("ok", "")
    try:
        err = json.loads(payload)
    except ValueError:
        err = None
    msg = (err or {}).get("error") if isinstance(err, dict) else None
    if not msg:
        return "crash", payload[:200]
    if (err.get("title") == "Unexpected error") or "Something went wrong" in msg:
        return "unexpected", msg[:200]
    if leaks(msg):
        return "leak", msg[:200]
    return "refused", f"{err.get('title')}: {msg[:160]}"


# ---- the server ---------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


REFERENCE_LINES = [{"text": "The quick brown fox"}]


def reference_seconds(client, timeout: float, rounds: int = 3) -> float:
    """The median time of a plain one-line /write (the default legibility check) on this server: the
    unit in which a request counts as slow."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        client.submit(lines=REFERENCE_LINES, seed=1, api_name="/write").result(timeout=timeout)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def start_server(args, workdir: Path) -> tuple[subprocess.Popen, str, Path]:
    port = args.port or free_port()
    log_path = workdir / "server.log"
    cmd = [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--host", "127.0.0.1",
           "--user_style_dir", str(workdir / "user_styles"), "--max_steps", str(args.max_steps),
           "--max_user_styles", str(args.max_user_styles)]
    if args.checkpoint:
        cmd += ["--checkpoint", args.checkpoint]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "PYTHONPATH": str(ROOT)}
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, cwd=str(workdir), stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); see {log_path}")
        try:
            urllib.request.urlopen(base + "gradio_api/info", timeout=5).read()
            return proc, base, log_path
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(1)
    proc.kill()
    raise SystemExit("the server did not come up within 300 s")


# ---- the scenarios of issue 28 ---------------------------------------------------------------------------
class Scenarios:
    """Deterministic checks after the random requests; every request is timed and classified like theirs
    (`record`), and each scenario counts its own misses."""

    def __init__(self, base: str, api: dict, rng: random.Random, timeout: float, record):
        self.base, self.api, self.rng, self.timeout, self.record = base, api, rng, timeout, record
        self.figures = Counter()
        self.notes: list[str] = []

    def client(self):
        from gradio_client import Client
        return Client(self.base, verbose=False)

    def call(self, client, endpoint: str, kw: dict):
        """(result, detail, output): as via_client, with the output of an answered request."""
        from gradio_client.exceptions import AppError
        t0 = time.perf_counter()
        out = None
        try:
            out = client.submit(**kw, api_name=endpoint).result(timeout=self.timeout)
            result, detail = "ok", ""
        except AppError as e:
            msg, title = str(getattr(e, "message", e) or ""), getattr(e, "title", "") or ""
            result = ("crash" if "has raised an exception" in msg or not msg else
                      "unexpected" if title == "Unexpected error" else "leak" if leaks(msg) else "refused")
            detail = f"{title}: {msg[:160]}"
        except TimeoutError:
            result, detail = "slow", "no answer within the timeout"
        self.record(endpoint, "client", "scenario", result, detail, kw, time.perf_counter() - t0)
        return result, detail, out

    def http(self, endpoint: str, kw: dict, headers: dict | None = None):
        t0 = time.perf_counter()
        result, detail = via_http(self.base, endpoint, kw, self.api[endpoint], None, self.timeout, headers)
        self.record(endpoint, "http", "scenario", result, detail, kw, time.perf_counter() - t0)
        return result, detail

    def nan_seeds(self) -> None:
        for endpoint, params in sorted(self.api.items()):
            if "seed" not in params:
                continue
            kw = {q: valid_value(q, endpoint, self.rng, False) for q in params}
            kw.update({q: v for q, v in (("page", "a4"), ("width_mm", 0)) if q in kw})   # a layout that fits
            kw["seed"] = NAN                                   # a raw JSON NaN literal
            result, detail = self.http(endpoint, kw)
            if result != "refused" or "seed" not in detail:
                self.figures["nan_seeds_accepted"] += 1
                self.notes.append(f"NaN seed to {endpoint}: {result} {detail[:100]}")
        self.figures["nan_seeds_accepted"] += 0

    def style(self, client, k: int, text: str | None = None):
        text = text or f"filling style {k}"
        return self.call(client, "/make_style", {"ink": valid_ink(random.Random(k)), "text": text})

    def full_bank(self, cap: int) -> None:
        filler = self.client()
        kept_in_session = 0
        for k in range(cap + 3):                   # fill user_styles/ and go past it
            result, detail, out = self.style(filler, 1000 + k)
            if result == "ok" and "this session only" in out[3]:
                kept_in_session += 1
        other = self.client()
        result, detail, out = self.style(other, 5000, "another visitor")
        wrote = None
        if result == "ok":
            wrote, _, _ = self.call(other, "/write", {"lines": [{"text": "mine", "style": out[0]}], "seed": 1})
        if result != "ok" or wrote != "ok" or not kept_in_session:
            self.figures["lockouts"] += 1
            self.notes.append(f"full bank: another client's style {result} {detail[:100]}, its write {wrote}, "
                              f"{kept_in_session} of the filler's styles kept in its session")
        self.figures["lockouts"] += 0
        self.shared_ids = set(self.call(self.client(), "/info", {})[2]["styles"])

    def proxy(self) -> None:
        info_kw = {}
        self.http("/info", info_kw, {"X-Forwarded-For": "203.0.113.7"})
        c = self.client()
        _, _, info = self.call(c, "/info", {})
        result, detail, out = self.style(c, 7000, "behind a proxy")
        seen = set(info["styles"]) if info else set()
        own_before = getattr(self, "shared_ids", set()) - seen
        if not info or info["own_styles"] != "per session" or result != "ok" or "this session only" not in out[3] \
                or not own_before:
            self.figures["proxy_not_private"] += 1
            self.notes.append(f"after a forwarded request: {info and info['own_styles']}, styles {sorted(seen)} "
                              f"(shared before: {sorted(getattr(self, 'shared_ids', []))}), new style {result}")
        self.figures["proxy_not_private"] += 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=1200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default=None, help="model for the server (default: the shipped one)")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--max_steps", type=int, default=200, help="the server's step cap per line")
    p.add_argument("--slow_ratio", type=float, default=100.0,
                   help="a request is slow over this many times the reference write's time")
    p.add_argument("--slow_s", type=float, default=None, help="an absolute limit in seconds instead")
    p.add_argument("--timeout", type=float, default=240.0, help="give up on one request after this long")
    p.add_argument("--report", default=None, help="write the figures and every failure here (JSON)")
    p.add_argument("--show", type=int, default=3, help="examples printed per failure kind")
    p.add_argument("--log", default=None, help="keep a copy of the server's log here")
    p.add_argument("--max_user_styles", type=int, default=8,
                   help="the server's cap on shared styles (small, so that the full-bank scenario is quick)")
    args = p.parse_args(argv)
    from gradio_client import Client

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="scribe-fuzz-") as tmp:
        workdir = Path(tmp)
        proc, base, log_path = start_server(args, workdir)
        SERVER_FOLDERS[:] = sorted({str(ROOT) + os.sep, str(workdir) + os.sep, tempfile.gettempdir() + os.sep,
                                    os.path.realpath(tmp) + os.sep})
        try:
            client = Client(base, verbose=False)
            info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
            api = {name: [q["parameter_name"] for q in ep["parameters"]] for name, ep in info.items()}
            for endpoint, params in sorted(api.items()):          # warm-up: one plain request each
                via_client(client, endpoint, {q: valid_value(q, endpoint, rng, False) for q in params}, args.timeout)
            reference = reference_seconds(client, args.timeout)
            slow_limit = args.slow_s if args.slow_s is not None else args.slow_ratio * reference
            rss_before = rss_mb(proc.pid)
            log_offset = log_path.stat().st_size
            outcomes, examples, by_endpoint = Counter(), {}, Counter()
            peak, slowest, started = rss_before, 0.0, time.time()

            def record(endpoint, way, kind, result, detail, kw, took):
                nonlocal slowest, peak
                slowest = max(slowest, took)
                if took > slow_limit:
                    outcomes["slow"] += 1
                    examples.setdefault("slow", []).append((endpoint, way, kind, f"{took:.1f}s", _shown(kw)))
                outcomes[result] += 1
                by_endpoint[(endpoint, result)] += 1
                if result in ("crash", "unexpected", "client", "leak"):
                    examples.setdefault(result, []).append((endpoint, way, kind, detail, _shown(kw)))
                elif result == "refused" and kind not in ("hostile", "scenario"):   # for --report
                    examples.setdefault("refused_plain", []).append((endpoint, way, kind, detail, _shown(kw)))
                peak = max(peak, rss_mb(proc.pid))

            for i in range(args.requests):
                endpoint, kw, kind = make_request(api, rng)
                way = "client" if rng.random() < 0.5 else "http"
                t0 = time.perf_counter()
                if way == "client":
                    result, detail = via_client(client, endpoint, kw, args.timeout)
                else:
                    result, detail = via_http(base, endpoint, kw, api[endpoint], rng, args.timeout)
                record(endpoint, way, kind, result, detail, kw, time.perf_counter() - t0)
                if (i + 1) % 100 == 0:
                    print(f"  {i + 1}/{args.requests} requests, {time.time() - started:.0f}s, "
                          f"{dict(outcomes)}", flush=True)
            random_outcomes = sum(outcomes.values()) - outcomes["slow"]
            scenarios = Scenarios(base, api, rng, args.timeout, record)
            scenarios.nan_seeds()
            scenarios.full_bank(args.max_user_styles)
            scenarios.proxy()                   # last: from here on the server keeps styles per session
            scenario_requests = sum(outcomes.values()) - outcomes["slow"] - random_outcomes
            rss_after = rss_mb(proc.pid)
            log_text = log_path.read_text(errors="replace")[log_offset:]
            if args.log:
                Path(args.log).write_text(log_path.read_text(errors="replace"))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    tracebacks = log_text.count("Traceback (most recent call last)")
    figures = {"requests": args.requests, "seed": args.seed, "seconds": round(time.time() - started, 1),
               "ok": outcomes["ok"], "refused": outcomes["refused"], "crashes_in_gradio": outcomes["crash"],
               "unexpected_error": outcomes["unexpected"], "client_could_not_send": outcomes["client"],
               "messages_naming_server_paths": outcomes["leak"],
               "server_log_tracebacks": tracebacks, "over_slow_s": outcomes["slow"],
               "slowest_s": round(slowest, 1), "reference_s": round(reference, 3),
               "slow_limit_s": round(slow_limit, 1), "slowest_vs_reference": round(slowest / reference, 1),
               "rss_before_mb": round(rss_before, 1),
               "rss_after_mb": round(rss_after, 1), "rss_peak_mb": round(peak, 1),
               "rss_growth_mb": round(rss_after - rss_before, 1),
               "scenario_requests": scenario_requests, **dict(sorted(scenarios.figures.items()))}
    for k, v in figures.items():
        print(f"{k}: {v}")
    for note in scenarios.notes:
        print("   scenario:", note)
    for kind, rows in examples.items():
        if kind == "refused_plain":
            continue
        print(f"-- {kind}: {len(rows)}")
        for row in rows[:args.show]:
            print("   ", row)
    crash_endpoints = Counter(e for (e, r), n in by_endpoint.items() if r == "crash" for _ in range(n))
    if crash_endpoints:
        print("crashes by endpoint:", dict(crash_endpoints))
    tb_kinds = Counter(re.findall(r"\n(\w+(?:\.\w+)*(?:Error|Exception)): ", log_text))
    if tb_kinds:
        print("exceptions in the server log:", dict(tb_kinds.most_common(8)))
    if args.report:
        Path(args.report).write_text(json.dumps({"figures": figures, "examples": examples,
                                                 "log_exceptions": dict(tb_kinds)}, indent=1, default=str))
    missed = (figures["crashes_in_gradio"] or figures["unexpected_error"] or tracebacks or figures["over_slow_s"]
              or figures["rss_growth_mb"] > TARGET_RSS_MB or figures["messages_naming_server_paths"]
              or any(scenarios.figures.values()))
    return 1 if missed else 0


def _shown(kw: dict) -> str:
    return json.dumps(kw, allow_nan=True, default=str)[:160].encode("ascii", "backslashreplace").decode()


if __name__ == "__main__":
    sys.exit(main())
