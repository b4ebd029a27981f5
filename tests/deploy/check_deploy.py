#!/usr/bin/env python3
"""Consistency checks for the shipped deployment files (meson suite 'deploy').

What it guards: the files in docker/ and deploy/k8s/ are only text that no
engine runs in CI, so they rot silently.  This script fails (exit 1, one line
per problem) when they drift from each other or from the services' contract:

  * every TOML (docker/config/*.toml and the ConfigMaps' *.toml) uses only the
    keys DESIGN.md fixes ("Config keys the tests rely on"), plus [log] level,
    [sink] conninfo and [[providers]] path;
  * docker-compose.yml: the five services, healthchecks, depends_on with
    condition service_healthy, mounted files that exist, healthcheck ports and
    endpoints that match the TOMLs, postgres credentials that match conninfo;
  * prometheus.yml scrapes both services on their [http] listen ports;
  * the Grafana dashboard only queries metric names DESIGN.md promises, shows
    queue depth, level, scale and rates, and draws the store.toml watermarks;
  * the Dockerfile has the build/runtime/store/pipeline stages, a non-root
    USER, HEALTHCHECKs and EXPOSEs that match the TOMLs, and (once the
    binaries are built) runtime packages covering every library they link;
  * every Kubernetes document has apiVersion/kind/metadata.name and no
    namespace; Services select Deployments and name their ports; a headless
    Service selects the store; the KEDA ScaledObject targets the store
    Deployment, queries coordinator_queue_depth and coordinator_backpressure_hard,
    has fallback (AverageValue triggers) and HPA behavior stabilization.

Environment: MDF_SOURCE_ROOT (repository root, required), MDF_BUILD_ROOT
(optional: enables the linked-library check), MDF_DESIGN_MD (optional: path
of DESIGN.md; when present, the key and metric lists below must match it).

`check_deploy.py --extract-configmaps DIR` writes each ConfigMap TOML to DIR
(as <configmap>--<key>) for tests/deploy/check_configs.sh.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.parse

import yaml

# Keys fixed by DESIGN.md ("Config keys the tests rely on").  Kept here too so
# the check works without DESIGN.md; when DESIGN.md is given they must agree.
DESIGN_STORE_KEYS = {
    "store.id", "ingest.endpoint", "feedback.endpoint", "feedback.heartbeat_ms",
    "queue.capacity", "queue.high_watermark", "queue.low_watermark", "queue.hysteresis",
    "workers.count", "workers.batch_max", "sink.type", "sink.path",
    "sink.max_rows_per_sec", "http.listen", "webhook.enabled", "webhook.url",
    "webhook.timeout_ms",
}
DESIGN_PIPELINE_KEYS = {
    "pipeline.id", "store.ingest", "store.feedback", "store.batch_max", "store.linger_ms",
    "store.max_inflight", "store.ack_timeout_ms", "feedback.enabled", "feedback.policy",
    "feedback.scale_ok", "feedback.scale_soft", "feedback.scale_hard",
    "feedback.stale_after_ms", "feedback.failsafe", "providers.name", "providers.type",
    "providers.capacity", "providers.refill_rate", "providers.symbols", "http.listen",
}
# Named in DESIGN.md's comments or by the services' briefs.
EXTRA_STORE_KEYS = {"sink.conninfo", "log.level",
                    # issue 7, security
                    "security.curve", "security.secret_key_file", "security.authorized_keys_dir",
                    "ingest.max_message_bytes", "ingest.max_bars"}
EXTRA_PIPELINE_KEYS = {"providers.path", "log.level",
                       # issue 7, security
                       "security.curve", "security.secret_key_file",
                       "security.server_public_key", "security.server_public_key_file"}

DESIGN_METRICS = {
    "coordinator_queue_depth", "coordinator_backpressure_ok", "coordinator_backpressure_soft",
    "coordinator_backpressure_hard", "mds_feedback_events_total", "mds_feedback_subscribers",
    "pipeline_rate_scale_factor", "pipeline_backpressure_state", "pipeline_feedback_queue_depth",
    "mds_bars_written_total", "mds_batches_total", "mdp_bars_ingested_total",
    "mdp_bars_acked_total", "mdp_batches_inflight",
}
METRIC_RE = re.compile(r"\b((?:coordinator|pipeline|mds|mdp)_[a-z0-9_]+)")
LABEL_NAMES = {"coordinator_id"}  # matches METRIC_RE but is a label

# Shared libraries every Debian image has (Essential / bookworm-slim base).
BASE_PACKAGES = {"libc6", "libgcc-s1"}

problems = []


def problem(where, msg):
    problems.append(f"{where}: {msg}")


# --------------------------------------------------------------------------
# TOML keys

def flat_keys(doc, prefix=""):
    """Dotted keys of a parsed TOML document; arrays of tables flatten to
    `name.key` (so [[providers]] name = ... gives providers.name)."""
    keys = set()
    for k, v in doc.items():
        full = f"{prefix}{k}"
        if isinstance(v, dict):
            keys |= flat_keys(v, full + ".")
        elif isinstance(v, list) and v and all(isinstance(e, dict) for e in v):
            for e in v:
                keys |= flat_keys(e, full + ".")
        else:
            keys.add(full)
    return keys


def design_from_file(path):
    """(store keys, pipeline keys, metric names) parsed from DESIGN.md."""
    text = open(path, encoding="utf-8").read()
    found = {}
    for name in ("store", "pipeline"):
        m = re.search(r"`%s\.toml`:\s*```toml\n(.*?)```" % name, text, re.S)
        if not m:
            raise ValueError(f"no ```toml block after `{name}.toml`:")
        found[name] = flat_keys(tomllib.loads(m.group(1)))
    metrics = set()
    m = re.search(r"Metrics include(.*?)\n\n", text, re.S)
    if m:
        para = m.group(1)
        for base, alts in re.findall(r"`([a-z_]+_)((?:[a-z]+\|)+[a-z]+)`", para):
            metrics |= {base + a for a in alts.split("|")}
        metrics |= {n for n in METRIC_RE.findall(para) if not n.endswith("_")} - LABEL_NAMES
    return found["store"], found["pipeline"], metrics


def allowed_keys():
    store, pipeline, metrics = DESIGN_STORE_KEYS, DESIGN_PIPELINE_KEYS, DESIGN_METRICS
    design = os.environ.get("MDF_DESIGN_MD")
    if design and os.path.exists(design):
        try:
            d_store, d_pipe, d_metrics = design_from_file(design)
        except (ValueError, tomllib.TOMLDecodeError) as e:
            problem(design, f"cannot read the config keys: {e}")
        else:
            if d_store != store or d_pipe != pipeline:
                problem(design, "config keys differ from check_deploy.py's copy: "
                        f"store {sorted(d_store ^ store)} pipeline {sorted(d_pipe ^ pipeline)}")
            if d_metrics and not metrics <= d_metrics:
                problem(design, f"metric names gone from DESIGN.md: {sorted(metrics - d_metrics)}")
    return store | EXTRA_STORE_KEYS, pipeline | EXTRA_PIPELINE_KEYS, metrics


def check_toml_keys(where, text, allowed):
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        problem(where, f"not valid TOML: {e}")
        return None
    for key in sorted(flat_keys(doc) - allowed):
        problem(where, f"key {key} is not a config key of DESIGN.md (nor [log] level / [sink] conninfo)")
    return doc


def port_of(hostport):
    """Port of 'host:port' or 'tcp://host:port', as int, or None."""
    m = re.search(r":(\d+)$", hostport or "")
    return int(m.group(1)) if m else None


def host_of(endpoint):
    m = re.match(r"^(?:tcp://)?(.*):\d+$", endpoint or "")
    return m.group(1) if m else None


def check_store_toml(where, doc, container):
    """Rules for a store config run in a container or pod."""
    if doc is None:
        return
    for sec in ("ingest", "feedback"):
        ep = doc.get(sec, {}).get("endpoint", "")
        if not ep.startswith("tcp://0.0.0.0:"):
            problem(where, f"[{sec}] endpoint {ep!r} must bind tcp://0.0.0.0:PORT inside a {container}")
    if not doc.get("http", {}).get("listen", "").startswith("0.0.0.0:"):
        problem(where, f"[http] listen must be 0.0.0.0:PORT inside a {container}")
    sink = doc.get("sink", {})
    if sink.get("type") != "postgres":
        problem(where, "[sink] type must be \"postgres\"")
    if not str(sink.get("conninfo", "")).startswith(("postgresql://", "postgres://")):
        problem(where, "[sink] conninfo must be a postgresql:// URI")
    q = doc.get("queue", {})
    if not (0 < q.get("low_watermark", 0) < q.get("high_watermark", 0) <= q.get("capacity", 0)):
        problem(where, "[queue] needs 0 < low_watermark < high_watermark <= capacity")


def check_pipeline_toml(where, doc, container):
    if doc is None:
        return
    if not doc.get("http", {}).get("listen", "").startswith("0.0.0.0:"):
        problem(where, f"[http] listen must be 0.0.0.0:PORT inside a {container}")
    if not doc.get("providers"):
        problem(where, "no [[providers]]")


# --------------------------------------------------------------------------
# docker/

def load_yaml(path):
    try:
        with open(path, encoding="utf-8") as f:
            return list(yaml.safe_load_all(f))
    except (OSError, yaml.YAMLError) as e:
        problem(path, f"cannot load: {e}")
        return []


def healthcheck_port(hc):
    test = hc.get("test") if isinstance(hc, dict) else None
    text = " ".join(test) if isinstance(test, list) else str(test or "")
    m = re.search(r"https?://[^/\s:]+:(\d+)/health\b", text)
    return int(m.group(1)) if m else None


def check_compose(root, store, pipeline):
    path = os.path.join(root, "docker", "docker-compose.yml")
    docs = load_yaml(path)
    if len(docs) != 1 or not isinstance(docs[0], dict):
        problem(path, "expected one YAML document")
        return
    services = docs[0].get("services") or {}
    for name in ("store", "pipeline", "postgres", "prometheus", "grafana"):
        if name not in services:
            problem(path, f"service {name} missing")
    compose_dir = os.path.dirname(path)
    for name, svc in services.items():
        if not isinstance(svc, dict):
            continue
        if "healthcheck" not in svc:
            problem(path, f"service {name} has no healthcheck")
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            if deps:
                problem(path, f"service {name}: depends_on must use condition: service_healthy")
        else:
            for dep, cond in deps.items():
                if (cond or {}).get("condition") != "service_healthy":
                    problem(path, f"service {name}: depends_on {dep} without condition service_healthy")
                if dep not in services:
                    problem(path, f"service {name}: depends_on unknown service {dep}")
        for vol in svc.get("volumes") or []:
            src = vol.split(":")[0] if isinstance(vol, str) else (vol.get("source") or "")
            if src.startswith((".", "/")) and not os.path.exists(os.path.join(compose_dir, src)):
                problem(path, f"service {name}: mounted {src} does not exist")
    deps_of = {n: set((s.get("depends_on") or {}) if isinstance(s, dict) else ()) for n, s in services.items()}
    if "postgres" not in deps_of.get("store", ()):
        problem(path, "store must depend on postgres (service_healthy)")
    if "store" not in deps_of.get("pipeline", ()):
        problem(path, "pipeline must depend on store (service_healthy)")
    for name, doc, target in (("store", store, "store"), ("pipeline", pipeline, "pipeline")):
        svc = services.get(name) or {}
        build = svc.get("build") or {}
        if build.get("target") != target:
            problem(path, f"service {name}: build target must be {target}")
        dockerfile = os.path.join(compose_dir, build.get("context", "."), build.get("dockerfile", "Dockerfile"))
        if not os.path.exists(dockerfile):
            problem(path, f"service {name}: Dockerfile {dockerfile} not found")
        if doc is not None:
            want = port_of(doc.get("http", {}).get("listen"))
            got = healthcheck_port(svc.get("healthcheck"))
            if want != got:
                problem(path, f"service {name}: healthcheck port {got} != [http] listen port {want}")
            mounts = " ".join(v if isinstance(v, str) else "" for v in svc.get("volumes") or [])
            if f"config/{name}.toml:" not in mounts:
                problem(path, f"service {name}: docker/config/{name}.toml is not mounted")
    pg = services.get("postgres") or {}
    if not str(pg.get("image", "")).startswith("timescale/timescaledb"):
        problem(path, "postgres must use a timescale/timescaledb image")
    hc = pg.get("healthcheck") or {}
    if "pg_isready" not in json.dumps(hc.get("test")):
        problem(path, "postgres healthcheck must use pg_isready")
    if store is not None:
        uri = urllib.parse.urlsplit(store.get("sink", {}).get("conninfo", ""))
        env = pg.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        if uri.hostname != "postgres":
            problem("docker/config/store.toml", "[sink] conninfo must name host postgres")
        if uri.username != env.get("POSTGRES_USER") or uri.path.lstrip("/") != env.get("POSTGRES_DB") \
                or uri.password != env.get("POSTGRES_PASSWORD"):
            problem("docker/config/store.toml", "[sink] conninfo user/password/db differ from the postgres service")
    if store is not None and pipeline is not None:
        for sec in ("ingest", "feedback"):
            want = f"tcp://store:{port_of(store.get(sec, {}).get('endpoint'))}"
            got = pipeline.get("store", {}).get(sec, [])
            if got != [want]:
                problem("docker/config/pipeline.toml", f"[store] {sec} must be [\"{want}\"], is {got}")


def check_prometheus(root, store, pipeline):
    path = os.path.join(root, "docker", "config", "prometheus.yml")
    docs = load_yaml(path)
    if not docs or not isinstance(docs[0], dict):
        problem(path, "empty")
        return
    targets = set()
    for sc in docs[0].get("scrape_configs") or []:
        if sc.get("metrics_path", "/metrics") != "/metrics":
            problem(path, f"job {sc.get('job_name')}: metrics_path must be /metrics")
        for st in sc.get("static_configs") or []:
            targets |= set(st.get("targets") or [])
    for name, doc in (("store", store), ("pipeline", pipeline)):
        if doc is not None:
            want = f"{name}:{port_of(doc.get('http', {}).get('listen'))}"
            if want not in targets:
                problem(path, f"does not scrape {want}")


def check_grafana(root, store, metrics):
    gdir = os.path.join(root, "docker", "grafana")
    ds_docs = load_yaml(os.path.join(gdir, "provisioning", "datasources", "prometheus.yml"))
    uids = {d.get("uid") for doc in ds_docs if doc for d in doc.get("datasources") or []}
    prov = load_yaml(os.path.join(gdir, "provisioning", "dashboards", "mdflow.yml"))
    paths = {(p.get("options") or {}).get("path") for doc in prov if doc for p in doc.get("providers") or []}
    if "/var/lib/grafana/dashboards" not in paths:
        problem(gdir, "dashboard provider must load /var/lib/grafana/dashboards (the compose mount)")
    path = os.path.join(gdir, "dashboards", "mdflow.json")
    try:
        dash = json.load(open(path, encoding="utf-8"))
    except (OSError, ValueError) as e:
        problem(path, f"cannot load: {e}")
        return
    used = set()
    thresholds = set()
    for p in dash.get("panels") or []:
        for t in p.get("targets") or []:
            used |= set(METRIC_RE.findall(t.get("expr", ""))) - LABEL_NAMES
            uid = (t.get("datasource") or p.get("datasource") or {}).get("uid")
            if uid not in uids:
                problem(path, f"panel {p.get('title')!r}: datasource uid {uid!r} is not provisioned")
        steps = (((p.get("fieldConfig") or {}).get("defaults") or {}).get("thresholds") or {}).get("steps") or []
        if "coordinator_queue_depth" in json.dumps(p.get("targets")):
            thresholds |= {s.get("value") for s in steps}
    for name in sorted(used - metrics):
        problem(path, f"metric {name} is not one DESIGN.md names")
    for need in ("coordinator_queue_depth", "coordinator_backpressure_hard", "pipeline_rate_scale_factor",
                 "mdp_bars_ingested_total", "mds_bars_written_total"):
        if need not in used:
            problem(path, f"no panel shows {need}")
    if store is not None:
        q = store.get("queue", {})
        for wm in ("low_watermark", "high_watermark"):
            if q.get(wm) not in thresholds:
                problem(path, f"queue depth panel does not mark {wm} {q.get(wm)} of store.toml")


def dockerfile_stages(text):
    """{stage name: [(instruction, args)]} with continuation lines joined."""
    text = re.sub(r"\\\n", " ", text)
    stages, current = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", args, re.I)
            current = (m.group(2) or m.group(1)).lower()
            stages[current] = [("FROM", m.group(1))]
        elif current is not None:
            stages[current].append((instr, args))
    return stages


def apt_packages(instrs):
    pkgs = set()
    for instr, args in instrs:
        if instr == "RUN":
            for m in re.finditer(r"apt-get install((?:\s+(?!&&)\S+)+)", args):
                pkgs |= {w for w in m.group(1).split() if not w.startswith("-")}
    return pkgs


def check_dockerfile(root, store, pipeline, build_root):
    path = os.path.join(root, "docker", "Dockerfile")
    try:
        stages = dockerfile_stages(open(path, encoding="utf-8").read())
    except OSError as e:
        problem(path, f"cannot read: {e}")
        return
    for s in ("build", "runtime", "store", "pipeline"):
        if s not in stages:
            problem(path, f"stage {s} missing")
    if problems and any(p.startswith(path) for p in problems):
        return
    base_build = stages["build"][0][1]
    base_run = stages["runtime"][0][1]
    if "bookworm" not in base_build and "DEBIAN_RELEASE" not in base_build:
        problem(path, "build stage must be Debian bookworm")
    if not base_run.endswith("-slim"):
        problem(path, "runtime stage must be a -slim image")
    build_cmds = " ".join(a for i, a in stages["build"] if i == "RUN")
    if "meson setup" not in build_cmds or "-Dtests=false" not in build_cmds:
        problem(path, "build stage must run meson setup -Dtests=false")
    runtime_pkgs = apt_packages(stages["runtime"])
    if any(p.endswith("-dev") for p in runtime_pkgs):
        problem(path, f"runtime stage installs -dev packages: {sorted(runtime_pkgs)}")
    for name, doc, ports in (("store", store, ("ingest", "feedback", "http")), ("pipeline", pipeline, ("http",))):
        instrs = stages[name]
        if instrs[0][1] != "runtime":
            problem(path, f"stage {name} must build FROM runtime")
        users = [a for i, a in stages["runtime"] + instrs if i == "USER"]
        if not users or users[-1].split(":")[0] in ("root", "0"):
            problem(path, f"stage {name} must run as a non-root USER")
        hcs = [a for i, a in instrs if i == "HEALTHCHECK"]
        if not hcs or "/health" not in hcs[-1]:
            problem(path, f"stage {name} needs a HEALTHCHECK on /health")
        if not any(i == "ENTRYPOINT" and f"md-{name}" in a for i, a in instrs):
            problem(path, f"stage {name} must have ENTRYPOINT md-{name}")
        exposed = {int(p.split("/")[0]) for i, a in instrs if i == "EXPOSE" for p in a.split()}
        if doc is not None:
            want = {port_of(doc.get("http", {}).get("listen"))}
            if name == "store":
                want |= {port_of(doc.get(s, {}).get("endpoint")) for s in ("ingest", "feedback")}
            if not want <= exposed:
                problem(path, f"stage {name} EXPOSEs {sorted(exposed)}, config uses {sorted(want)}")
            hc_port = healthcheck_port({"test": hcs[-1] if hcs else ""})
            if hc_port != port_of(doc.get("http", {}).get("listen")):
                problem(path, f"stage {name} HEALTHCHECK port {hc_port} != [http] listen")
    if build_root:
        check_runtime_libs(path, build_root, runtime_pkgs)


def check_runtime_libs(path, build_root, runtime_pkgs):
    """Every library a built binary links (NEEDED) comes from a runtime package."""
    if not (shutil.which("readelf") and shutil.which("dpkg") and shutil.which("ldd")):
        return
    for rel in ("store/md-store", "pipeline/md-pipeline", "tools/mdctl"):
        binary = os.path.join(build_root, rel)
        if not os.path.exists(binary):
            continue
        dyn = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True).stdout
        needed = re.findall(r"\(NEEDED\).*\[(.+?)\]", dyn)
        resolved = dict(re.findall(r"^\s*(\S+) => (\S+)", subprocess.run(
            ["ldd", binary], capture_output=True, text=True).stdout, re.M))
        for lib in needed:
            if lib.startswith(("libasan", "libubsan")) or lib not in resolved:
                continue
            owner = subprocess.run(["dpkg", "-S", os.path.realpath(resolved[lib])],
                                   capture_output=True, text=True)
            if owner.returncode != 0:
                owner = subprocess.run(["dpkg", "-S", resolved[lib]], capture_output=True, text=True)
            pkg = owner.stdout.split(":")[0] if owner.returncode == 0 else None
            if pkg and pkg not in runtime_pkgs | BASE_PACKAGES:
                problem(path, f"{rel} links {lib} from package {pkg}, not installed in the runtime stage")


# --------------------------------------------------------------------------
# deploy/k8s/

def k8s_docs(root):
    kdir = os.path.join(root, "deploy", "k8s")
    out = []
    for dirpath, _, files in sorted(os.walk(kdir)):
        for f in sorted(files):
            if f.endswith((".yaml", ".yml")):
                p = os.path.join(dirpath, f)
                for i, d in enumerate(load_yaml(p)):
                    if d is not None:
                        out.append((f"{os.path.relpath(p, root)}#{i}", d))
    if not out:
        problem(kdir, "no manifests")
    return out


def check_k8s(root, allowed_store, allowed_pipeline):
    docs = k8s_docs(root)
    by_kind = {}
    for where, d in docs:
        if not isinstance(d, dict):
            problem(where, "not a mapping")
            continue
        meta = d.get("metadata") or {}
        if not d.get("apiVersion") or not d.get("kind") or not meta.get("name"):
            problem(where, "needs apiVersion, kind and metadata.name")
        if "namespace" in meta:
            problem(where, "must be namespace-agnostic (no metadata.namespace)")
        by_kind.setdefault(d.get("kind"), []).append((where, d))

    kust = [d for _, d in by_kind.get("Kustomization", [])]
    top = {f for f in os.listdir(os.path.join(root, "deploy", "k8s"))
           if f.endswith(".yaml") and f != "kustomization.yaml"}
    if kust and set(kust[0].get("resources") or []) != top:
        problem("deploy/k8s/kustomization.yaml", f"resources must list exactly {sorted(top)}")

    configmaps = {d["metadata"]["name"]: (w, d) for w, d in by_kind.get("ConfigMap", [])
                  if isinstance(d.get("metadata"), dict) and "name" in d["metadata"]}
    tomls = {}
    for name, (where, cm) in configmaps.items():
        for key, text in (cm.get("data") or {}).items():
            if not key.endswith(".toml"):
                continue
            is_store = "store" in key
            doc = check_toml_keys(f"{where} {key}", text, allowed_store if is_store else allowed_pipeline)
            (check_store_toml if is_store else check_pipeline_toml)(f"{where} {key}", doc, "pod")
            tomls[(name, key)] = doc

    deployments = {}
    for where, dep in by_kind.get("Deployment", []):
        spec = dep.get("spec") or {}
        tmpl = spec.get("template") or {}
        labels = (tmpl.get("metadata") or {}).get("labels") or {}
        sel = (spec.get("selector") or {}).get("matchLabels") or {}
        if not sel or any(labels.get(k) != v for k, v in sel.items()):
            problem(where, "selector.matchLabels must match the pod template labels")
        pod = tmpl.get("spec") or {}
        containers = pod.get("containers") or []
        ports = {p.get("name"): p.get("containerPort") for c in containers for p in c.get("ports") or []}
        for vol in pod.get("volumes") or []:
            cm = (vol.get("configMap") or {}).get("name")
            if cm and cm not in configmaps:
                problem(where, f"volume {vol.get('name')} uses unknown ConfigMap {cm}")
        role = None
        for c in containers:
            if "md-store" in str(c.get("image")):
                role = "store"
            elif "md-pipeline" in str(c.get("image")):
                role = "pipeline"
            if ((c.get("readinessProbe") or {}).get("httpGet") or {}).get("path") != "/health":
                problem(where, f"container {c.get('name')}: readinessProbe must GET /health")
            if not c.get("livenessProbe"):
                problem(where, f"container {c.get('name')}: no livenessProbe")
        deployments[dep["metadata"]["name"]] = (where, dep, labels, ports, role, pod)
        # The mounted config's ports must be the container's.
        for vol in pod.get("volumes") or []:
            cm = (vol.get("configMap") or {}).get("name")
            for (cmname, key), doc in tomls.items():
                if cmname != cm or doc is None:
                    continue
                if port_of(doc.get("http", {}).get("listen")) != ports.get("http"):
                    problem(where, f"containerPort http != [http] listen of {cmname}/{key}")
                if role == "store":
                    for sec in ("ingest", "feedback"):
                        if port_of(doc.get(sec, {}).get("endpoint")) != ports.get(sec):
                            problem(where, f"containerPort {sec} != [{sec}] endpoint of {cmname}/{key}")
                args = " ".join(str(a) for c in containers for a in (c.get("command") or []) + (c.get("args") or []))
                if f"/etc/mdflow/{key}" not in args:
                    problem(where, f"containers do not run with --config /etc/mdflow/{key}")

    store_deps = [n for n, v in deployments.items() if v[4] == "store"]
    pipe_deps = [n for n, v in deployments.items() if v[4] == "pipeline"]
    if len(store_deps) != 1 or len(pipe_deps) != 1:
        problem("deploy/k8s", f"need one md-store and one md-pipeline Deployment, have {store_deps} {pipe_deps}")
        return
    store_name = store_deps[0]

    headless = None
    for where, svc in by_kind.get("Service", []):
        spec = svc.get("spec") or {}
        sel = spec.get("selector") or {}
        target = [n for n, v in deployments.items() if sel and all(v[2].get(k) == x for k, x in sel.items())]
        if not target:
            problem(where, f"selector {sel} matches no Deployment")
            continue
        ports = deployments[target[0]][3]
        for p in spec.get("ports") or []:
            tp = p.get("targetPort", p.get("port"))
            if (isinstance(tp, str) and tp not in ports) or (isinstance(tp, int) and tp not in ports.values()):
                problem(where, f"port {p.get('name')}: targetPort {tp} is not a container port of {target[0]}")
        if spec.get("clusterIP") == "None" and target == [store_name]:
            headless = svc["metadata"]["name"]
    if not headless:
        problem("deploy/k8s", f"no headless Service (clusterIP: None) selecting {store_name}")
    else:
        pipe = deployments[pipe_deps[0]]
        if headless not in json.dumps(pipe[5]):
            problem(pipe[0], f"the pipeline does not use the headless Service {headless}")

    check_scaledobject(by_kind.get("ScaledObject", []), store_name)


def check_scaledobject(objs, store_name):
    if len(objs) != 1:
        problem("deploy/k8s", f"need exactly one KEDA ScaledObject, have {len(objs)}")
        return
    where, so = objs[0]
    if so.get("apiVersion") != "keda.sh/v1alpha1":
        problem(where, "apiVersion must be keda.sh/v1alpha1")
    spec = so.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    if ref.get("name") != store_name or ref.get("kind", "Deployment") != "Deployment":
        problem(where, f"scaleTargetRef must name Deployment {store_name}, names {ref.get('name')!r}")
    lo, hi = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
    if not isinstance(lo, int) or lo < 1:
        problem(where, "minReplicaCount must be >= 1 (a pipeline with no store stalls)")
    fb = spec.get("fallback") or {}
    if not (isinstance(fb.get("failureThreshold"), int) and fb["failureThreshold"] > 0
            and isinstance(fb.get("replicas"), int) and lo <= fb["replicas"] <= hi):
        problem(where, "fallback needs failureThreshold > 0 and replicas within min..max")
    beh = (((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get("behavior") or {})
    for d in ("scaleUp", "scaleDown"):
        if not isinstance((beh.get(d) or {}).get("stabilizationWindowSeconds"), int):
            problem(where, f"advanced.horizontalPodAutoscalerConfig.behavior.{d}.stabilizationWindowSeconds missing")
    queries = []
    for t in spec.get("triggers") or []:
        md = t.get("metadata") or {}
        if t.get("type") != "prometheus":
            problem(where, f"trigger {t.get('name')}: type must be prometheus")
        if not md.get("serverAddress") or not md.get("query") or not md.get("threshold"):
            problem(where, f"trigger {t.get('name')}: needs serverAddress, query, threshold")
        if t.get("metricType", "AverageValue") != "AverageValue":
            problem(where, f"trigger {t.get('name')}: fallback only works with metricType AverageValue")
        queries.append(md.get("query") or "")
    for metric in ("coordinator_queue_depth", "coordinator_backpressure_hard"):
        if not any(re.search(r"\b%s\b" % metric, q) for q in queries):
            problem(where, f"no trigger queries {metric}")


def extract_configmaps(root, outdir):
    os.makedirs(outdir, exist_ok=True)
    for _, d in k8s_docs(root):
        if isinstance(d, dict) and d.get("kind") == "ConfigMap":
            for key, text in (d.get("data") or {}).items():
                if key.endswith(".toml"):
                    with open(os.path.join(outdir, f"{d['metadata']['name']}--{key}"), "w") as f:
                        f.write(text)


def main():
    root = os.environ.get("MDF_SOURCE_ROOT")
    if not root:
        print("MDF_SOURCE_ROOT is not set", file=sys.stderr)
        return 2
    if len(sys.argv) == 3 and sys.argv[1] == "--extract-configmaps":
        extract_configmaps(root, sys.argv[2])
        return 0
    allowed_store, allowed_pipeline, metrics = allowed_keys()
    cfg = os.path.join(root, "docker", "config")
    docs = {}
    for name, allowed, rule in (("store", allowed_store, check_store_toml),
                                ("pipeline", allowed_pipeline, check_pipeline_toml)):
        path = os.path.join(cfg, f"{name}.toml")
        try:
            text = open(path, encoding="utf-8").read()
        except OSError as e:
            problem(path, str(e))
            docs[name] = None
            continue
        docs[name] = check_toml_keys(path, text, allowed)
        rule(path, docs[name], "container")
    for extra in sorted(set(os.listdir(cfg)) - {"store.toml", "pipeline.toml"}):
        if extra.endswith(".toml"):
            allowed = allowed_store if "store" in extra else allowed_pipeline
            check_toml_keys(os.path.join(cfg, extra), open(os.path.join(cfg, extra)).read(), allowed)
    check_compose(root, docs["store"], docs["pipeline"])
    check_prometheus(root, docs["store"], docs["pipeline"])
    check_grafana(root, docs["store"], metrics)
    check_dockerfile(root, docs["store"], docs["pipeline"], os.environ.get("MDF_BUILD_ROOT"))
    check_k8s(root, allowed_store, allowed_pipeline)
    for p in problems:
        print(p)
    print(f"check_deploy: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
