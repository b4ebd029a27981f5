#!/usr/bin/env python3
"""The KEDA triggers ask for the store replicas deploy/README.md promises
(meson suite 'deploy').

check_deploy.py only sees which metrics the ScaledObject's queries name; this
runs them.  For each case below it gives promtool (`promtool test rules`,
PromQL unit tests) the series a Prometheus would hold after a few minutes in
that situation, evaluates every trigger's query of
deploy/k8s/keda-scaledobject.yaml, and checks the replicas the trigger asks
for: ceil(value / threshold), as the HPA computes it for an AverageValue
target, or none when the query has no value (KEDA reads that as 0 with
ignoreNullValues: the trigger does not hold any replica up).  The HPA takes
the larger of the triggers, within min/maxReplicaCount.

Every case also holds the series of another deployment's store (a
coordinator_id not of md-store pods), busy and broken, which must change
nothing.

Env: MDF_SOURCE_ROOT (required).  Exits 77 without promtool.
"""

import os
import shutil
import subprocess
import sys
import tempfile

import yaml

STEP = "15s"
SAMPLES = 20          # 5 minutes of samples at STEP
EVAL = "4m"


def store(name, ip, drain, service, breaker=0):
    """Series of one store pod: coordinator_* with its coordinator_id, mds_*
    with the scrape's instance only (as the store exports them)."""
    inst = f'instance="{ip}:9101", job="md-store"'
    return [
        (f'coordinator_queue_capacity{{coordinator_id="{name}", {inst}}}', "10000"),
        (f'coordinator_queue_depth{{coordinator_id="{name}", {inst}}}', "500"),
        (f"mds_sink_drain_rate{{{inst}}}", str(drain)),
        (f"mds_sink_service_rate{{{inst}}}", str(service)),
        (f"mds_sink_breaker_state{{{inst}}}", str(breaker)),
    ]


def pipeline(ip, scale):
    """A pipeline's rate scale: a constant, or a list of values, one per STEP."""
    return [(f'pipeline_rate_scale_factor{{provider="synthetic", instance="{ip}:9102", job="md-pipeline"}}',
             scale)]


# Another mdflow deployment's store in the same Prometheus: saturated, then
# broken; never counted.
OTHER = store("other-store-7d9f-x2", "10.9.0.1", 5000, 5000, breaker=1)

# (what, series, {trigger name: replicas it asks for, None = no value})
CASES = [
    ("one store, its sink saturated, the pipeline held back to a quarter of what it asks",
     store("md-store-5c8d-a1", "10.0.0.1", 5000, 5000) + pipeline("10.0.1.1", 0.25),
     {"held-back": 4, "busy": 2}),
    ("two stores saturated, the pipeline held back to half",
     store("md-store-5c8d-a1", "10.0.0.1", 5000, 5000) + store("md-store-5c8d-b2", "10.0.0.2", 5000, 5000)
     + pipeline("10.0.1.1", 0.5),
     {"held-back": 4, "busy": 3}),
    # A steady 3x demand on one store: with noise the 1-minute scale reads
    # 1/3.03 .. 1/2.96; the 5 % margin makes both 3 replicas (ceil(3.03) would
    # be 4, ceil(2.96) 3: a count that flaps with the noise).
    ("one store, a steady 3x demand, the scale on the low side of its noise (1/3.03)",
     store("md-store-5c8d-a1", "10.0.0.1", 5000, 5000) + pipeline("10.0.1.1", round(1 / 3.03, 4)),
     {"held-back": 3, "busy": 2}),
    ("one store, a steady 3x demand, the scale on the high side of its noise (1/2.96)",
     store("md-store-5c8d-a1", "10.0.0.1", 5000, 5000) + pipeline("10.0.1.1", round(1 / 2.96, 4)),
     {"held-back": 3, "busy": 2}),
    ("three stores carry a 3x demand but for the noise (scale 0.99): held-back quiet, busy wants 70 % busy sinks",
     store("md-store-5c8d-a1", "10.0.0.1", 5000, 5000) + store("md-store-5c8d-b2", "10.0.0.2", 5000, 5000)
     + store("md-store-5c8d-c3", "10.0.0.3", 5000, 5000) + pipeline("10.0.1.1", 0.99),
     {"held-back": None, "busy": 5}),
    ("the pipeline asks ten times what one store takes: at most four times the stores in one step",
     store("md-store-5c8d-a1", "10.0.0.1", 5000, 5000) + pipeline("10.0.1.1", 0.1),
     {"held-back": 4, "busy": 2}),
    ("two pipelines, one held back to half: the stores cannot take what it asks",
     store("md-store-5c8d-a1", "10.0.0.1", 5000, 5000) + store("md-store-5c8d-b2", "10.0.0.2", 5000, 5000)
     + pipeline("10.0.1.1", 1) + pipeline("10.0.1.2", 0.5),
     {"held-back": 4, "busy": 3}),
    ("four stores 15 % busy, the pipeline at full rate: scale in to one",
     store("md-store-5c8d-a1", "10.0.0.1", 750, 5000) + store("md-store-5c8d-b2", "10.0.0.2", 750, 5000)
     + store("md-store-5c8d-c3", "10.0.0.3", 750, 5000) + store("md-store-5c8d-d4", "10.0.0.4", 750, 5000)
     + pipeline("10.0.1.1", 1),
     {"held-back": None, "busy": 1}),
    ("two stores 60 % busy, the pipeline at full rate: keep two",
     store("md-store-5c8d-a1", "10.0.0.1", 3000, 5000) + store("md-store-5c8d-b2", "10.0.0.2", 3000, 5000)
     + pipeline("10.0.1.1", 1),
     {"held-back": None, "busy": 2}),
    ("idle: no bars, no pipeline",
     store("md-store-5c8d-a1", "10.0.0.1", 0, 5000) + store("md-store-5c8d-b2", "10.0.0.2", 0, 5000),
     {"held-back": None, "busy": 0}),
    ("a new store whose service rate is not known yet (-1) is not counted as busy",
     store("md-store-5c8d-a1", "10.0.0.1", 5000, 5000) + store("md-store-5c8d-b2", "10.0.0.2", 0, -1)
     + pipeline("10.0.1.1", 0.5),
     {"held-back": 4, "busy": 2}),
    ("a one-sample dip of the pipeline's scale (a store starting, a stale one): no scale-out",
     store("md-store-5c8d-a1", "10.0.0.1", 3000, 5000)
     + pipeline("10.0.1.1", ["1"] * 14 + ["0.7"] + ["1"] * (SAMPLES - 15)),
     {"held-back": None, "busy": 1}),
    ("the database is down (every breaker open, nothing drains, the pipeline stopped): hold, "
     "more stores would not help and fewer would drain nothing",
     store("md-store-5c8d-a1", "10.0.0.1", 0, 0, breaker=1) + store("md-store-5c8d-b2", "10.0.0.2", 0, 0, breaker=1)
     + store("md-store-5c8d-c3", "10.0.0.3", 0, 0, breaker=1) + pipeline("10.0.1.1", 0),
     {"held-back": None, "busy": 3}),
    ("one store's database connection fails, the other store is saturated: scale out",
     store("md-store-5c8d-a1", "10.0.0.1", 0, 0, breaker=1) + store("md-store-5c8d-b2", "10.0.0.2", 5000, 5000)
     + pipeline("10.0.1.1", 0.5),
     {"held-back": 4, "busy": 2}),
]


def values(v):
    if isinstance(v, list):
        return " ".join(str(x) for x in v)
    return f"{v}x{SAMPLES - 1}"


def scaledobject(root):
    kdir = os.path.join(root, "deploy", "k8s")
    for dirpath, _, files in os.walk(kdir):
        for f in sorted(files):
            if f.endswith((".yaml", ".yml")):
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    for d in yaml.safe_load_all(fh):
                        if isinstance(d, dict) and d.get("kind") == "ScaledObject":
                            return d
    return None


def main():
    root = os.environ.get("MDF_SOURCE_ROOT")
    if not root:
        print("MDF_SOURCE_ROOT is not set")
        return 2
    promtool = shutil.which("promtool")
    if not promtool:
        print("SKIP: promtool not installed")
        return 77
    so = scaledobject(root)
    if so is None:
        print("FAIL: no ScaledObject in deploy/k8s")
        return 1
    triggers = {}
    for t in (so.get("spec") or {}).get("triggers") or []:
        md = t.get("metadata") or {}
        try:
            triggers[t.get("name")] = (str(md["query"]), float(md["threshold"]))
        except (KeyError, ValueError) as e:
            print(f"FAIL: trigger {t.get('name')}: no usable query or threshold ({e})")
            return 1
    wanted = {name for _, _, exp in CASES for name in exp}
    if set(triggers) != wanted:
        print(f"FAIL: the ScaledObject's triggers are {sorted(triggers)}, the cases here cover {sorted(wanted)}: "
              "update both together (and deploy/README.md)")
        return 1
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for what, series, expected in CASES:
            tests = []
            for name, replicas in expected.items():
                query, threshold = triggers[name]
                tests.append({
                    "expr": f"ceil(({query}) / {threshold!r})",
                    "eval_time": EVAL,
                    "exp_samples": [] if replicas is None else [{"labels": "{}", "value": replicas}],
                })
            doc = {"evaluation_interval": STEP, "tests": [{
                "interval": STEP,
                "input_series": [{"series": s, "values": values(v)} for s, v in series + OTHER],
                "promql_expr_test": tests,
            }]}
            path = os.path.join(tmp, "case.yml")
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump(doc, f, sort_keys=False)
            r = subprocess.run([promtool, "test", "rules", path], capture_output=True, text=True, timeout=60)
            want = ", ".join(f"{n} {'no value' if v is None else v}" for n, v in expected.items())
            if r.returncode == 0:
                print(f"ok   {what}: {want}")
            else:
                failures += 1
                print(f"FAIL {what}: want {want}")
                for line in (r.stdout + r.stderr).splitlines():
                    if line.strip() and "Unit Testing" not in line:
                        print(f"     {line.strip()[:300]}")
    print(f"{len(CASES)} cases, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
