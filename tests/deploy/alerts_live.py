#!/usr/bin/env python3
"""alerts_live.py: the shipped alerting rules in a real Prometheus, against a
real md-store and md-pipeline on loopback (meson test alerts-live, suite slow).

promtool's unit tests (rules_test.yml) feed the rules made-up series; this
runs Debian's `prometheus` with the rules of docker/prometheus/rules.yml and
the scrape jobs of docker/prometheus/prometheus.yml, and checks what an
operator would see on /api/v1/alerts:

1. a 3x overload (the store's sink throttled to 5,000 rows/s, the pipeline's
   provider asking 15,000 bars/s; the share policy holds it near 1/3) fires
   MdflowDemandUnmet, and no other alert fires meanwhile;
2. `kill -9` of the store fires MdflowStoreDown for that store;
3. the store leaving service discovery (its target removed from the file
   the md-store job discovers, as compose's DNS or the Service's endpoints
   drop it) fires MdflowStoreGone.

Time scale: a copy of rules.yml with every `for` and every range selector
divided by SCALE (10: `for: 10m` is 60 s, `[2m]` is 12 s), scraped and
evaluated every second (the shipped config: 5 s).  The thresholds and
expressions are the shipped ones.  The store job discovers its target from
a file instead of DNS (so that step 3 can remove it); the job names are the
shipped ones.  Everything binds 127.0.0.1, is stopped by PID, and
Prometheus keeps its data in a temporary directory.  Exit 77 (skipped) when
prometheus, python3-yaml or the built binaries are missing.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml not installed")
    sys.exit(77)

SCALE = 10
SINK_ROWS = 5000        # the store's sink, rows/s
DEMAND = 3 * SINK_ROWS  # what the provider asks, bars/s
DEADLINE_S = 200        # the whole run (SIGALRM); meson's timeout is above it

SRC = os.environ.get("MDF_SOURCE_ROOT") or os.path.join(os.path.dirname(__file__), "..", "..")
BUILD = os.environ.get("MDF_BUILD_ROOT", "")
PROMETHEUS = shutil.which("prometheus")
STORE_BIN = os.path.join(BUILD, "store", "md-store")
PIPELINE_BIN = os.path.join(BUILD, "pipeline", "md-pipeline")

DUR_RE = re.compile(r"(\d+)(ms|s|m|h|d)")
UNIT_MS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}


def duration_ms(text):
    """A Prometheus duration (1m30s, 500ms) in milliseconds."""
    text = str(text)
    if not re.fullmatch(r"(\d+(ms|s|m|h|d))+", text):
        raise ValueError(f"not a duration: {text!r}")
    return sum(int(n) * UNIT_MS[u] for n, u in DUR_RE.findall(text))


def scaled(text):
    return f"{max(1, duration_ms(text) // SCALE)}ms"


def scale_rules(doc):
    """rules.yml with every `for` and range selector divided by SCALE."""
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = scaled(rule["for"])
            rule["expr"] = re.sub(r"\[([0-9a-z]+)\]", lambda m: f"[{scaled(m.group(1))}]", rule["expr"])
    return doc


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def fail(msg):
    print(f"FAIL: {msg}")
    raise SystemExit(1)


def http_get(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_for(what, pred, timeout, procs=()):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for name, p in procs:
            if p.poll() is not None:
                fail(f"{name} exited ({p.returncode}) while waiting for {what}")
        try:
            v = pred()
            if v:
                return v
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    fail(f"timed out after {timeout} s waiting for {what}")


def main():
    if not PROMETHEUS:
        print("SKIP: prometheus (Debian package prometheus) not installed")
        return 77
    if not (os.access(STORE_BIN, os.X_OK) and os.access(PIPELINE_BIN, os.X_OK)):
        print("SKIP: md-store / md-pipeline not built (MDF_BUILD_ROOT)")
        return 77
    started = time.monotonic()

    def out_of_time(signum, frame):
        fail(f"the run took more than {DEADLINE_S} s")
    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(DEADLINE_S)   # every process is still stopped below
    tmp = tempfile.mkdtemp(prefix="mdflow-alerts-")
    procs = []
    try:
        return run(tmp, procs, started)
    finally:
        for name, p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p in reversed(procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if os.environ.get("MDF_KEEP_TMP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(tmp, procs, started):
    ingest, feedback, store_http, pipe_http, prom_port = free_ports(5)
    demo = os.path.join(SRC, "tools", "demo")
    ports = {"tcp://127.0.0.1:5555": f"tcp://127.0.0.1:{ingest}",
             "tcp://127.0.0.1:5556": f"tcp://127.0.0.1:{feedback}",
             "127.0.0.1:9101": f"127.0.0.1:{store_http}",
             "127.0.0.1:9102": f"127.0.0.1:{pipe_http}"}

    def config(name, extra):
        text = open(os.path.join(demo, name), encoding="utf-8").read()
        for a, b in [(a, b) for a, b in ports.items() if a.startswith("tcp:") or a in text] + extra:
            if a not in text:
                fail(f"tools/demo/{name} no longer has {a!r}")
            text = text.replace(a, b)
        path = os.path.join(tmp, name)
        open(path, "w", encoding="utf-8").write(text)
        return path

    store_toml = config("store.toml", [("run/data/bars.db", os.path.join(tmp, "bars.db")),
                                       ("max_rows_per_sec = 20000", f"max_rows_per_sec = {SINK_ROWS}")])
    pipe_toml = config("pipeline.toml", [("refill_rate = 100000", f"refill_rate = {DEMAND}")])

    # Prometheus: the shipped rules, scaled, and the shipped jobs, on our ports.
    shipped = yaml.safe_load(open(os.path.join(SRC, "docker", "prometheus", "prometheus.yml"), encoding="utf-8"))
    jobs = {}
    for sc in shipped["scrape_configs"]:
        names = [n for sd in sc.get("dns_sd_configs") or [] for n in sd.get("names") or []]
        targets = [t for st in sc.get("static_configs") or [] for t in st.get("targets") or []]
        if "store" in names:
            jobs["store"] = sc["job_name"]
        elif any(t.startswith("pipeline:") for t in targets):
            jobs["pipeline"] = sc["job_name"]
    if set(jobs) != {"store", "pipeline"}:
        fail(f"docker/prometheus/prometheus.yml: no store or pipeline job found ({jobs})")
    rules = scale_rules(yaml.safe_load(open(os.path.join(SRC, "docker", "prometheus", "rules.yml"),
                                            encoding="utf-8")))
    with open(os.path.join(tmp, "rules.yml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(rules, f, sort_keys=False)
    sd_file = os.path.join(tmp, "stores.json")
    store_target = f"127.0.0.1:{store_http}"

    def set_store_targets(targets):
        with open(sd_file + ".new", "w", encoding="utf-8") as f:
            json.dump([{"targets": targets}] if targets else [], f)
        os.replace(sd_file + ".new", sd_file)   # atomic: Prometheus never reads half a file
    set_store_targets([store_target])
    prom_cfg = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "900ms"},
        "rule_files": ["rules.yml"],
        "scrape_configs": [
            {"job_name": jobs["store"], "metrics_path": "/metrics",
             "file_sd_configs": [{"files": [sd_file], "refresh_interval": "1s"}]},
            {"job_name": jobs["pipeline"], "metrics_path": "/metrics",
             "static_configs": [{"targets": [f"127.0.0.1:{pipe_http}"]}]},
        ],
    }
    with open(os.path.join(tmp, "prometheus.yml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(prom_cfg, f, sort_keys=False)

    def spawn(name, argv):
        log = open(os.path.join(tmp, name + ".log"), "w", encoding="utf-8")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        procs.append((name, p))
        return p

    def show_logs():
        for name, _ in procs:
            path = os.path.join(tmp, name + ".log")
            lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
            print(f"--- {name}.log (last 15 lines)")
            print("\n".join(lines[-15:]))

    try:
        store = spawn("md-store", [STORE_BIN, "--config", store_toml])
        pipeline = spawn("md-pipeline", [PIPELINE_BIN, "--config", pipe_toml])
        for name, port in (("md-store", store_http), ("md-pipeline", pipe_http)):
            wait_for(f"{name} /health", lambda: http_get(f"http://127.0.0.1:{port}/health")[0] == 200, 20, procs)
        spawn("prometheus", [PROMETHEUS, f"--config.file={tmp}/prometheus.yml",
                             f"--storage.tsdb.path={tmp}/tsdb", f"--web.listen-address=127.0.0.1:{prom_port}",
                             "--log.level=warn"])
        api = f"http://127.0.0.1:{prom_port}/api/v1"

        def query(q):
            _, body = http_get(f"{api}/query?query={urllib.request.quote(q)}")
            return json.loads(body)["data"]["result"]

        def alerts():
            _, body = http_get(f"{api}/alerts")
            return json.loads(body)["data"]["alerts"]

        def firing(name=None):
            return [a for a in alerts() if a["state"] == "firing" and (name is None or a["labels"]["alertname"] == name)]

        wait_for("Prometheus ready", lambda: http_get(f"http://127.0.0.1:{prom_port}/-/ready")[0] == 200, 30, procs)
        wait_for("both targets up", lambda: len([r for r in query("up") if r["value"][1] == "1"]) == 2, 30, procs)
        # Before the first scrape `up` is absent: with MdflowStoreGone's `for`
        # scaled to 3 s it can fire while Prometheus starts (at full scale its
        # 30 s outlast the first scrape).  Start from a clear board.
        wait_for("no alert firing once both targets are up", lambda: not firing(), 15, procs)
        print(f"store, pipeline and Prometheus up after {time.monotonic() - started:.1f} s "
              f"(rules: every for and range / {SCALE}, scrape and evaluation every 1 s)")

        # 1. Overload: MdflowDemandUnmet fires (for 10m / SCALE after the
        # 2-minute average falls below 0.9), nothing else does.
        t0 = time.monotonic()
        others = {}
        demand = None
        limit = 60 * 10 / SCALE + 120 * 2 / SCALE + 45
        while time.monotonic() - t0 < limit and demand is None:
            for name, p in procs:
                if p.poll() is not None:
                    show_logs()
                    fail(f"{name} exited ({p.returncode}) during the overload")
            for a in firing():
                n = a["labels"]["alertname"]
                if n == "MdflowDemandUnmet":
                    demand = a
                else:
                    others.setdefault(n, a)
            time.sleep(0.5)
        scale = query(f'min(pipeline_rate_scale_factor{{job="{jobs["pipeline"]}"}})')
        scale = float(scale[0]["value"][1]) if scale else float("nan")
        if demand is None:
            show_logs()
            fail(f"MdflowDemandUnmet did not fire within {limit:.0f} s of a 3x overload "
                 f"(rate scale now {scale:.2f}); firing: {sorted(others) or 'nothing'}")
        fired_after = time.monotonic() - t0
        if others:
            fail(f"during the overload other alerts fired: {json.dumps(list(others.values()), indent=1)}")
        if demand["labels"].get("instance") != f"127.0.0.1:{pipe_http}":
            fail(f"MdflowDemandUnmet names {demand['labels']}, not the pipeline 127.0.0.1:{pipe_http}")
        held = float(demand["value"])
        if not 0.2 < held < 0.6:
            fail(f"MdflowDemandUnmet's value {held:.2f}: a 3x overload should be held near 1/3")
        ann = demand["annotations"]
        if any(key not in ann or "{{" in ann[key] for key in ("summary", "description", "runbook")) \
                or f"127.0.0.1:{pipe_http}" not in ann["description"]:
            fail(f"MdflowDemandUnmet's annotations are missing or not rendered: {ann}")
        print(f"overload: MdflowDemandUnmet firing {fired_after:.1f} s in (value {held:.2f}, rate scale "
              f"{scale:.2f}), no other alert firing; summary: {demand['annotations']['summary']}")

        # 2. kill -9 of the store: MdflowStoreDown names it.
        store.send_signal(signal.SIGKILL)
        store.wait()
        t1 = time.monotonic()
        down = wait_for("MdflowStoreDown firing", lambda: firing("MdflowStoreDown"), 30)
        down_after = time.monotonic() - t1
        if [a["labels"].get("instance") for a in down] != [store_target]:
            fail(f"MdflowStoreDown names {[a['labels'] for a in down]}, not the store {store_target}")
        # `for` / SCALE, plus one scrape, one evaluation and our polling
        want = duration_ms(next(r["for"] for g in yaml.safe_load(open(os.path.join(
            SRC, "docker", "prometheus", "rules.yml"), encoding="utf-8"))["groups"]
            for r in g["rules"] if r.get("alert") == "MdflowStoreDown")) / 1000 / SCALE + 3.5
        if down_after > want:
            fail(f"MdflowStoreDown fired {down_after:.1f} s after the kill: want at most {want:.1f} s")
        print(f"kill -9: MdflowStoreDown firing {down_after:.1f} s later ({down_after * SCALE:.0f} s at full "
              f"scale) for {store_target}; also firing: "
              f"{sorted({a['labels']['alertname'] for a in firing()} - {'MdflowStoreDown'}) or 'nothing'}")

        # 3. The store leaves discovery: no target left, MdflowStoreGone.
        set_store_targets([])
        t2 = time.monotonic()
        gone = wait_for("MdflowStoreGone firing", lambda: firing("MdflowStoreGone"), 30)
        print(f"no store target: MdflowStoreGone firing {time.monotonic() - t2:.1f} s later "
              f"({gone[0]['annotations']['summary']})")
        wait_for("MdflowStoreDown resolved once the target is gone", lambda: not firing("MdflowStoreDown"), 15)
        print(f"alerts-live: ok in {time.monotonic() - started:.0f} s")
        return 0
    except SystemExit:
        raise
    except Exception:
        show_logs()
        raise


if __name__ == "__main__":
    sys.exit(main())
