#!/usr/bin/env python3
"""Consistency checks for the shipped deployment files (meson suite 'deploy').

What it guards: the files in docker/ and deploy/k8s/ are only text that no
engine runs in CI, so they rot silently.  This script fails (exit 1, one line
per problem) when they drift from each other or from the services' contract:

  * every TOML (docker/config/*.toml and the ConfigMaps' *.toml) uses only the
    keys listed below (the stable keys deployments set), each of which the
    services document (README.md's configuration reference, generated from
    their settings tables);
  * docker-compose.yml: the five services, healthchecks, depends_on with
    condition service_healthy, mounted files that exist, healthcheck ports and
    endpoints that match the TOMLs, postgres credentials that match conninfo;
  * the pipeline finds the stores by DNS ([store] discover, as the TOML and
    the service's environment set it, on the stores' ingest/feedback ports,
    no fixed ingest/feedback list): the compose service `store`, the
    Kubernetes headless Service;
  * `docker-compose up --scale store=N` works: the store publishes no fixed
    host port and has no container_name, its entrypoint sets MDS_STORE_ID
    from $HOSTNAME (one coordinator_id per replica) and execs md-store;
  * docker/prometheus/prometheus.yml scrapes every store replica (DNS SD,
    type A) and the pipeline on their [http] listen ports, and loads
    rules.yml, which compose mounts where the config
    finds it; rules.yml has the promised alerts (ALERTS_WANTED), on metric
    names the services document, and rules_test.yml a firing and a quiet
    unit test for each (promtool runs them: meson test deploy-promtool-*);
  * the Grafana dashboard only queries metric names the services document
    (the metrics tables of store/README.md and pipeline/README.md), shows
    queue depth, level, scale, rates and sink health, draws the watermarks
    from the coordinator_queue_*_watermark gauges (no fixed thresholds) and
    filters every store series by its `coordinator` variable;
  * grace periods: compose's stop_grace_period and Kubernetes'
    terminationGracePeriodSeconds exceed the service's drain timeout
    ([store] drain_timeout_ms as the service runs: environment, TOML or the
    documented default) by more than GRACE_MARGIN_S, so SIGKILL never cuts a
    drain short;
  * the Dockerfile has the build/runtime/store/pipeline stages, a non-root
    USER, HEALTHCHECKs and EXPOSEs that match the TOMLs, apt's caches removed
    in every RUN that installs packages, and (once the binaries are built)
    runtime packages covering every library they link;
  * CurveZMQ: [security] curve is on in every shipped TOML, and
    the pipeline's POST /control/* needs a bearer token: [http]
    control_token_file is set (never a literal control_token).  Every key
    and token path (as the TOML and the service's environment set it) lies
    on a read-only mount: in compose a named volume that a one-shot service
    (running `mdctl keygen`, from an image that ships mdctl, and making the
    token from /dev/urandom) writes at the same path and the service waits
    for (service_completed_successfully); in Kubernetes a Secret volume (or
    a projected volume of Secrets) whose Secret deploy/README.md creates with
    `kubectl create secret generic NAME --from-file=...` holding that file,
    readable by the pod's user, not world-readable when it holds a secret
    key or the token, and holding no other service's secret key;
  * every Kubernetes document has apiVersion/kind/metadata.name and no
    namespace; Services select workloads (Deployments or StatefulSets) and
    name their ports; a headless Service selects the store, without
    publishNotReadyAddresses; containers run the service itself (no shell
    wrapper); the store Deployment rolls out with maxUnavailable 0; the KEDA
    ScaledObject targets the store workload, triggers on the pipelines' rate
    scale and on the sinks' busy fraction (documented metrics, store series
    selected by the store pods' coordinator_id), has fallback (AverageValue
    triggers) and HPA behavior stabilization (what the triggers compute:
    check_keda.py).

Environment: MDF_SOURCE_ROOT (repository root, required), MDF_BUILD_ROOT
(optional: enables the linked-library check).

`check_deploy.py --extract-configmaps DIR` writes each ConfigMap TOML to DIR
(as <configmap>--<key>).  `check_deploy.py --stage-keys DIR` makes real keys
the way a user would (compose: runs the one-shot keys service's command;
Kubernetes: runs deploy/README.md's keys block, with a `kubectl` stand-in that
writes each Secret to a directory), lays them out as the mounts would, checks
that the keys pair up (the pipeline trusts the store's key, the store admits
the pipeline's), that the control token is one the pipeline takes and long
enough (and 0400 in compose), that a second compose `up` keeps keys and token
and that a second deployment (compose or the block) gets different ones, and
writes copies of the TOMLs whose key and token paths point there;
it prints "store|pipeline FILE" per copy, for tests/deploy/check_configs.sh.
`check_deploy.py --compose-plan DIR` prints the compose key volumes as
"writer SERVICE WORKDIR" / "mount SERVICE DIR/vol/VOLUME TARGET ro|rw" lines
and writes the writer's command to DIR/keys.sh, and how compose starts store
and pipeline (entrypoint and command, or the image's, with mounted config
files and the image's binaries mapped to this machine) to DIR/SERVICE.argv
and their environment to DIR/SERVICE.env (both NUL-separated), for
compose_netns.sh.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import urllib.parse

import yaml

# The keys the shipped TOMLs may set: the stable core every deployment needs,
# plus the sink's conninfo, the log level, the drain timeout (the grace
# periods are checked against it), CurveZMQ and the control token.  Narrower
# than everything the services accept on purpose; each must also be in the
# README's configuration reference (documented_config below).
STORE_KEYS = {
    "store.id", "store.drain_timeout_ms", "ingest.endpoint", "feedback.endpoint",
    "feedback.heartbeat_ms", "queue.capacity", "queue.high_watermark", "queue.low_watermark",
    "queue.hysteresis", "workers.count", "workers.batch_max", "sink.type", "sink.path",
    "sink.conninfo", "sink.max_rows_per_sec", "http.listen", "webhook.enabled", "webhook.url",
    "webhook.timeout_ms", "log.level",
    "security.curve", "security.secret_key_file", "security.authorized_keys_dir",
    "ingest.max_message_bytes", "ingest.max_bars",
}
PIPELINE_KEYS = {
    "pipeline.id", "store.ingest", "store.feedback", "store.batch_max", "store.linger_ms",
    # the stores by DNS (pipeline/README.md "Stores"): the shipped configs use
    # this, never the fixed lists above (checked below)
    "store.discover", "store.discover_ingest_port", "store.discover_feedback_port",
    "store.discover_interval_ms", "feedback.forget_after_ms",
    "store.max_inflight", "store.ack_timeout_ms", "store.drain_timeout_ms", "feedback.enabled",
    "feedback.policy", "feedback.scale_ok", "feedback.scale_soft", "feedback.scale_hard",
    "feedback.stale_after_ms", "feedback.failsafe", "providers.name", "providers.type",
    "providers.capacity", "providers.refill_rate", "providers.symbols", "providers.path",
    "http.listen", "log.level",
    "security.curve", "security.secret_key_file",
    "security.server_public_key", "security.server_public_key_file",
    # bearer token for POST /control/* (pipeline/README.md "Control token");
    # http.control_token is known only to be refused with a clear message
    "http.control_token", "http.control_token_file",
    # the journal of live ticks (pipeline/README.md "Journal"): on a volume
    "journal.dir", "journal.max_bytes", "journal.fsync_ms",
}

# SIGKILL must not race the drain: a grace period at least this much longer
# than the drain timeout (the service still has to ack, publish "shutdown"
# and exit after the drain gives up).
GRACE_MARGIN_S = 10

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


CONFIG_REF_BEGIN = "<!-- config-reference:begin -->"
CONFIG_REF_END = "<!-- config-reference:end -->"


def documented_config(root):
    """{"store"|"pipeline": {dotted key: default text}} from README.md's
    configuration reference (generated from the settings tables by
    tools/update-docs.sh; [[providers]] keys as providers.KEY).  Problems when
    it cannot be read."""
    path = os.path.join(root, "README.md")
    out = {"store": {}, "pipeline": {}}
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        problem(path, f"cannot read the configuration reference: {e}")
        return out
    begin, end = text.find(CONFIG_REF_BEGIN), text.find(CONFIG_REF_END)
    if begin < 0 or end < begin:
        problem(path, f"no configuration reference between {CONFIG_REF_BEGIN} and {CONFIG_REF_END}")
        return out
    role, prefix = None, ""
    for line in text[begin:end].splitlines():
        if line.startswith("#"):
            role = "store" if "md-store" in line else "pipeline" if "md-pipeline" in line else role
            prefix = "providers." if "[[providers]]" in line else ""
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        m = re.fullmatch(r"`([a-z_.]+)`", cells[0]) if role and len(cells) >= 3 else None
        if m:
            default = re.sub(r"^`(.*)`$", r"\1", cells[2])
            out[role][prefix + m.group(1)] = default
    if not out["store"] or not out["pipeline"]:
        problem(path, "the configuration reference lists no md-store or no md-pipeline key")
    return out


def documented_metrics(root):
    """Metric names in the `## Metrics` tables of store/README.md and
    pipeline/README.md (the services' full lists; `a_ok` / `_soft` expands
    to a_ok, a_soft)."""
    names = set()
    for rel in ("store/README.md", "pipeline/README.md"):
        path = os.path.join(root, rel)
        try:
            text = open(path, encoding="utf-8").read()
        except OSError as e:
            problem(path, f"cannot read its metrics table: {e}")
            continue
        m = re.search(r"^## Metrics\n(.*?)(?=^## |\Z)", text, re.S | re.M)
        if not m:
            problem(path, "no ## Metrics section")
            continue
        for line in m.group(1).splitlines():
            if not line.startswith("| `"):
                continue
            full = None
            for tok in re.findall(r"`([a-z0-9_]+)`", line.split("|")[1]):
                if tok.startswith("_") and full:
                    tok = full.rsplit("_", 1)[0] + tok
                full = tok
                names.add(tok)
    if not names:
        problem("store/README.md, pipeline/README.md", "no metric documented")
    return names


def allowed_keys(root):
    """(store keys, pipeline keys, documented metric names, documented config);
    problems for an allowed key the services do not document."""
    doc = documented_config(root)
    for role, keys in (("store", STORE_KEYS), ("pipeline", PIPELINE_KEYS)):
        if doc[role]:
            for key in sorted(keys - set(doc[role])):
                problem("tests/deploy/check_deploy.py", f"allows {role} key {key}, which README.md's "
                        "configuration reference does not document")
    return STORE_KEYS, PIPELINE_KEYS, documented_metrics(root), doc


def check_toml_keys(where, text, allowed):
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        problem(where, f"not valid TOML: {e}")
        return None
    for key in sorted(flat_keys(doc) - allowed):
        problem(where, f"key {key} is not one the shipped configs may set (check_deploy.py's "
                "STORE_KEYS / PIPELINE_KEYS: keys the services document)")
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
# How the pipeline finds the stores: by DNS ([store] discover), so that stores
# added or removed (KEDA, `docker-compose up --scale store=N`) are followed
# live; a fixed list would keep sending to stores that left and never see new
# ones.

def effective_stores(doc, env, config_doc):
    """{"discover": name, "ingest_port": int|None, "feedback_port": int|None,
    "lists": [keys set]} of a pipeline TOML with the service's environment
    applied (MDP_STORE_*), ports defaulting to the documented defaults."""
    st = (doc or {}).get("store") or {}
    env = env or {}
    defaults = config_doc.get("pipeline", {})
    out = {"discover": str(env.get("MDP_STORE_DISCOVER", st.get("discover", "")) or ""), "lists": []}
    for sec in ("ingest", "feedback"):
        if env.get(f"MDP_STORE_{sec.upper()}") or (f"MDP_STORE_{sec.upper()}" not in env and st.get(sec)):
            out["lists"].append(f"store.{sec}")
        key = f"discover_{sec}_port"
        val = env.get(f"MDP_STORE_{key.upper()}", st.get(key, defaults.get(f"store.{key}")))
        try:
            out[f"{sec}_port"] = int(str(val))
        except ValueError:
            out[f"{sec}_port"] = None
    return out


def check_discover(where, eff, name_ok, want, store_ports):
    """The pipeline discovers the stores by `want` (name_ok(name) says whether
    a name is that one) on the store's own ports, with no fixed list."""
    name = eff["discover"]
    if eff["lists"]:
        problem(where, f"sets {' and '.join(eff['lists'])}: a fixed list of stores is not followed as "
                f"stores come and go; use [store] discover = {want!r} only")
    if not name:
        problem(where, f"[store] discover is not set: the pipeline must find the stores by {want!r}, "
                "whose DNS answer is every store")
    elif not name_ok(name):
        problem(where, f"[store] discover = {name!r}: must be {want!r}, whose DNS answer is every store")
    for sec in ("ingest", "feedback"):
        if store_ports.get(sec) is not None and eff[f"{sec}_port"] != store_ports[sec]:
            problem(where, f"[store] discover_{sec}_port {eff[f'{sec}_port']} is not the store's [{sec}] "
                    f"endpoint port {store_ports[sec]}")


SHELLS = {"sh", "bash", "dash", "ash", "busybox", "zsh"}


def shell_script(argv):
    """The script of an argv that runs a shell with -c, or None."""
    if argv and os.path.basename(str(argv[0])) in SHELLS:
        for i, a in enumerate(argv[1:], 1):
            if str(a).startswith("-") and "c" in str(a)[1:] and i + 1 < len(argv):
                return str(argv[i + 1])
        return ""
    return None


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


# --------------------------------------------------------------------------
# CurveZMQ keys and the control token: which TOML paths must be mounted, and
# where from

# (dotted key, is a directory, holds a secret) per role.  server_public_key_file
# is the pipeline's only way to the store's key here (a literal key cannot be
# shipped: the keys are made at deploy time); likewise the control token only
# comes from a file (the pipeline listens on 0.0.0.0, so without a token
# anyone who reaches :9102 could pause ingestion).  A secret must not be
# world-readable.
KEY_PATHS = {
    "store": (("security.secret_key_file", False, True), ("security.authorized_keys_dir", True, False)),
    "pipeline": (("security.secret_key_file", False, True), ("security.server_public_key_file", False, False),
                 ("http.control_token_file", False, True)),
}
TOKEN_KEY = "http.control_token_file"
ENV_PREFIX = {"store": "MDS", "pipeline": "MDP"}
EFFECTIVE_KEYS = {
    "security": ("curve", "secret_key_file", "authorized_keys_dir", "server_public_key", "server_public_key_file"),
    "http": ("control_token", "control_token_file"),
}
# What pipeline/settings.c accepts as a token (first line of the file); a
# deployment's token must also carry 32 random bytes or more (base64: 43+
# characters).
TOKEN_RE = re.compile(r"^[\x21-\x7e]{1,256}$")
TOKEN_MIN_CHARS = 43


def effective_security(doc, env, role):
    """{"security.KEY" / "http.control_token[_file]": value} of a TOML with the
    service's environment (env: dict) applied."""
    out = {}
    for section, keys in EFFECTIVE_KEYS.items():
        table = (doc or {}).get(section) or {}
        for key in keys:
            val = (env or {}).get(f"{ENV_PREFIX[role]}_{section.upper()}_{key.upper()}")
            if val is None:
                val = table.get(key)
            elif key == "curve":
                val = str(val).lower() in ("true", "1", "yes", "on")
            else:
                val = str(val)
            if val is not None:
                out[f"{section}.{key}"] = val
    return out


def key_paths(where, role, sec):
    """[(dotted key, path, is_dir, is_secret)] that must be mounted; problems for
    curve off, a missing or literal control token, or bad paths."""
    curve = sec.get("security.curve") is True
    if not curve:
        problem(where, "[security] curve must be true (CurveZMQ is on in the compose and Kubernetes configs)")
    if role == "pipeline" and sec.get("security.server_public_key"):
        problem(where, "[security] server_public_key is a literal key: use server_public_key_file "
                "(keys are made at deploy time, never shipped)")
    if role == "pipeline" and sec.get("http.control_token"):
        problem(where, "[http] control_token is a literal token (or MDP_HTTP_CONTROL_TOKEN a literal value): "
                "use control_token_file on a mounted secret (tokens are made at deploy time, never shipped)")
    out = []
    for key, is_dir, secret in KEY_PATHS[role]:
        if key.startswith("security.") and not curve:
            continue
        path = str(sec.get(key) or "")
        if key == TOKEN_KEY and not path:
            problem(where, "[http] control_token_file is not set: the pipeline listens beyond loopback, so "
                    "POST /control/* (pause, resume, reload) would be open to anyone who reaches it")
            continue
        if not path.startswith("/"):
            problem(where, f"{key} must be an absolute path on a mounted volume, is {path!r}")
            continue
        out.append((key, os.path.normpath(path), is_dir, secret))
    return out


def mount_for(path, targets):
    """The longest target that is `path` or one of its parent directories, or None."""
    best = None
    for t in targets:
        t = os.path.normpath(t)
        if (path == t or path.startswith(t.rstrip("/") + "/")) and (best is None or len(t) > len(best)):
            best = t
    return best


def one_shot(svc):
    return isinstance(svc, dict) and str(svc.get("restart", "")) == "no"


def compose_env(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: str(v) for k, v in env.items()}


def compose_volumes(svc):
    """[(source, target, read_only)] of a compose service."""
    out = []
    for v in svc.get("volumes") or []:
        if isinstance(v, str):
            parts = v.split(":")
            if len(parts) == 1:
                out.append(("", parts[0], False))
            else:
                out.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
        elif isinstance(v, dict):
            out.append((v.get("source") or "", v.get("target") or "", bool(v.get("read_only"))))
    return out


def command_text(svc):
    parts = []
    for k in ("entrypoint", "command"):
        v = svc.get(k)
        parts += v if isinstance(v, list) else ([v] if v else [])
    return " ".join(str(p) for p in parts)


def stage_ships(stages, stage, binary):
    """True when Dockerfile stage `stage` (or a stage it is built FROM) COPYs `binary`."""
    seen = set()
    while stage in stages and stage not in seen:
        seen.add(stage)
        if any(i == "COPY" and re.search(r"/%s(\s|$)" % re.escape(binary), a) for i, a in stages[stage]):
            return True
        stage = stages[stage][0][1].lower()
    return False


def compose_key_writers(services):
    """{volume: (writer service, target)} for named volumes a one-shot service mounts writable."""
    writers = {}
    for name, svc in services.items():
        if one_shot(svc):
            for src, target, ro in compose_volumes(svc):
                if src and not src.startswith((".", "/", "~")) and not ro:
                    writers[src] = (name, os.path.normpath(target))
    return writers


# --------------------------------------------------------------------------
# Grace periods: SIGTERM -> drain -> exit must finish before the SIGKILL

COMPOSE_DEFAULT_GRACE_S = 10   # docker compose stop without stop_grace_period
K8S_DEFAULT_GRACE_S = 30       # a pod without terminationGracePeriodSeconds


def duration_seconds(value):
    """Seconds of a compose duration ("45s", "1m30s", "1500ms", 45), or None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value or "").strip()
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001}
    return sum(float(n) * scale[u] for n, u in parts)


def drain_timeout_ms(doc, env, role, config_doc):
    """[store] drain_timeout_ms of a service as it runs: its environment
    (MDS_/MDP_STORE_DRAIN_TIMEOUT_MS), else the TOML, else the documented
    default; None when none can be read."""
    val = (env or {}).get(f"{ENV_PREFIX[role]}_STORE_DRAIN_TIMEOUT_MS")
    if val is None:
        val = ((doc or {}).get("store") or {}).get("drain_timeout_ms")
    if val is None:
        val = config_doc.get(role, {}).get("store.drain_timeout_ms")
    try:
        return int(str(val))
    except ValueError:
        return None


def check_grace(where, what, grace_s, drain_ms):
    """The grace period before SIGKILL exceeds the drain timeout by more than
    GRACE_MARGIN_S: otherwise SIGKILL races the service's own timeout and a
    drain that would have finished is cut short."""
    if drain_ms is None or grace_s is None:
        problem(where, f"cannot read {what} or the drain timeout")
        return
    if not grace_s > drain_ms / 1000 + GRACE_MARGIN_S:
        problem(where, f"{what} {grace_s:g}s must exceed [store] drain_timeout_ms "
                f"({drain_ms} ms) by more than {GRACE_MARGIN_S}s: SIGKILL would race the drain")


def check_compose_keys(root, path, services, store, pipeline):
    writers = compose_key_writers(services)
    dockerfile = os.path.join(root, "docker", "Dockerfile")
    try:
        stages = dockerfile_stages(open(dockerfile, encoding="utf-8").read())
    except OSError:
        stages = {}
    checked_writers, token_writers = set(), set()
    for role, doc in (("store", store), ("pipeline", pipeline)):
        svc = services.get(role)
        if doc is None or not isinstance(svc, dict):
            continue
        where = f"docker/config/{role}.toml (compose service {role})"
        vols = {os.path.normpath(t): (src, ro) for src, t, ro in compose_volumes(svc)}
        deps = svc.get("depends_on") or {}
        for key, kpath, _, _ in key_paths(where, role, effective_security(doc, compose_env(svc), role)):
            target = mount_for(kpath, vols)
            if target is None:
                problem(path, f"service {role}: {key} {kpath} is on no volume of the service "
                        "(the keys are not mounted)")
                continue
            src, ro = vols[target]
            if src.startswith((".", "/", "~")) or not src:
                problem(path, f"service {role}: {key} is on {src or 'an anonymous volume'}: key and token "
                        "material must come from a named volume made at deploy time, not the repository")
                continue
            if not ro:
                problem(path, f"service {role}: key volume {src} must be mounted read-only (:ro)")
            if src not in writers:
                problem(path, f"service {role}: volume {src} ({key}) is written by no one-shot "
                        "service: nothing makes the keys")
                continue
            writer, wtarget = writers[src]
            if wtarget != target:
                problem(path, f"service {role}: volume {src} is at {target}, but {writer} writes it at {wtarget}")
            if not isinstance(deps, dict) or (deps.get(writer) or {}).get("condition") \
                    != "service_completed_successfully":
                problem(path, f"service {role}: must depend on {writer} (service_completed_successfully), "
                        "which makes its keys")
            (token_writers if key == TOKEN_KEY else checked_writers).add(writer)
    for writer in sorted(token_writers):
        if "/dev/urandom" not in command_text(services[writer]):
            problem(path, f"service {writer}: writes the control token's volume but does not make the "
                    "token from /dev/urandom")
    for writer in sorted(checked_writers):
        wsvc = services[writer]
        if "mdctl keygen" not in command_text(wsvc):
            problem(path, f"service {writer}: makes key volumes but does not run `mdctl keygen`")
        target = (wsvc.get("build") or {}).get("target")
        image = wsvc.get("image")
        if not target:  # no build of its own: the image of a service that builds it
            target = next(((s.get("build") or {}).get("target") for s in services.values()
                           if isinstance(s, dict) and s.get("build") and s.get("image") == image), None)
        if stages and not (target and stage_ships(stages, target, "mdctl")):
            problem(path, f"service {writer}: its image (Dockerfile stage {target}) does not ship mdctl")


def check_compose(root, store, pipeline, config_doc):
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
        if "healthcheck" not in svc and not one_shot(svc):
            problem(path, f"service {name} has no healthcheck")
        if one_shot(svc) and svc.get("ports"):
            problem(path, f"service {name}: a one-shot service (restart: \"no\") publishes ports")
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            if deps:
                problem(path, f"service {name}: depends_on must use condition: service_healthy")
        else:
            for dep, cond in deps.items():
                want = "service_completed_successfully" if one_shot(services.get(dep)) else "service_healthy"
                if (cond or {}).get("condition") != want:
                    problem(path, f"service {name}: depends_on {dep} without condition {want}")
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
            # service_healthy gates on readiness: a store without its database is not healthy
            if "/health/ready" not in str((svc.get("healthcheck") or {}).get("test")):
                problem(path, f"service {name}: healthcheck must GET /health/ready")
            mounts = " ".join(v if isinstance(v, str) else "" for v in svc.get("volumes") or [])
            if f"config/{name}.toml:" not in mounts:
                problem(path, f"service {name}: docker/config/{name}.toml is not mounted")
    check_compose_keys(root, path, services, store, pipeline)
    psvc = services.get("pipeline")
    if pipeline is not None and isinstance(psvc, dict):
        jdir = journal_dir(pipeline, compose_env(psvc), config_doc, "/var/lib/mdflow")
        vols = {os.path.normpath(t): (src, ro) for src, t, ro in compose_volumes(psvc) if t}
        target = mount_for(jdir, vols) if jdir else None
        if jdir and (target is None or vols[target][1] or not vols[target][0]
                     or vols[target][0].startswith((".", "/"))
                     or vols[target][0] not in (docs[0].get("volumes") or {})):
            problem(path, f"service pipeline: [journal] dir {jdir} is not on a writable named volume")
    for name, doc in (("store", store), ("pipeline", pipeline)):
        svc = services.get(name)
        if doc is None or not isinstance(svc, dict):
            continue
        grace = svc.get("stop_grace_period", f"{COMPOSE_DEFAULT_GRACE_S}s")
        check_grace(f"{path} service {name}", "stop_grace_period", duration_seconds(grace),
                    drain_timeout_ms(doc, compose_env(svc), name, config_doc))
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
        ports = {sec: port_of(store.get(sec, {}).get("endpoint")) for sec in ("ingest", "feedback")}
        check_discover("docker/config/pipeline.toml (compose service pipeline)",
                       effective_stores(pipeline, compose_env(services.get("pipeline") or {}), config_doc),
                       lambda n: n == "store", "store", ports)
    check_compose_scaling(path, services)


def check_compose_scaling(path, services):
    """`docker-compose up --scale store=N` must work: no fixed host port or
    container name (a second replica could not have them), one store.id per
    replica (from the container's hostname, set by Docker), and a wrapper
    that execs md-store, so that SIGTERM reaches it."""
    svc = services.get("store")
    if not isinstance(svc, dict):
        return
    if svc.get("container_name"):
        problem(path, "service store: container_name stops `--scale store=N` (one name per container)")
    for p in svc.get("ports") or []:
        if isinstance(p, dict):
            host = str(p.get("published") or "")
        else:
            parts = str(p).rsplit(":", 2)
            host = parts[-2] if len(parts) >= 2 else ""
        if host:
            problem(path, f"service store: publishes {p!r} on a fixed host port, which a second replica "
                    "(`--scale store=N`) cannot bind: leave the host port out (127.0.0.1::PORT)")
    env = compose_env(svc)
    if "MDS_STORE_ID" in env:
        problem(path, "service store: MDS_STORE_ID in environment gives every replica the same store.id")
    argv = compose_argv(svc)
    script = shell_script(argv)
    if script is None or not re.search(r"MDS_STORE_ID=\S*\$\{?HOSTNAME\b", script):
        problem(path, "service store: each replica needs its own store.id (coordinator_id): set "
                "MDS_STORE_ID from $HOSTNAME (the container's id) in its entrypoint")
    for name in ("store", "pipeline"):
        s = services.get(name)
        script = shell_script(compose_argv(s)) if isinstance(s, dict) else None
        if script is not None and not re.search(r"\bexec\s+(\S*/)?md-%s\b" % name, script):
            problem(path, f"service {name}: its shell entrypoint must `exec md-{name}` (otherwise the "
                    "shell gets SIGTERM and md-" + name + " never drains)")


def check_prometheus(root, store, pipeline, metrics):
    pdir = os.path.join(root, "docker", "prometheus")
    path = os.path.join(pdir, "prometheus.yml")
    docs = load_yaml(path)
    if not docs or not isinstance(docs[0], dict):
        problem(path, "empty")
        return
    targets, every = set(), set()
    store_jobs = set()  # the jobs that scrape the store (the alerts select it by job)
    for sc in docs[0].get("scrape_configs") or []:
        if sc.get("metrics_path", "/metrics") != "/metrics":
            problem(path, f"job {sc.get('job_name')}: metrics_path must be /metrics")
        for st in sc.get("static_configs") or []:
            targets |= set(st.get("targets") or [])
        # DNS service discovery, type A: one target per address of the name
        for sd in sc.get("dns_sd_configs") or []:
            if str(sd.get("type", "SRV")).upper() == "A":
                every |= {f"{n}:{sd.get('port')}" for n in sd.get("names") or []}
                if "store" in (sd.get("names") or []):
                    store_jobs.add(sc.get("job_name"))
    for name, doc in (("store", store), ("pipeline", pipeline)):
        if doc is not None:
            want = f"{name}:{port_of(doc.get('http', {}).get('listen'))}"
            if name == "store" and want in targets:
                problem(path, f"scrapes {want} as a static target: with `--scale store=N` that is one "
                        "replica or another at each scrape; use dns_sd_configs (type A) on store")
            elif name == "store" and want not in every:
                problem(path, f"does not scrape every store replica: want dns_sd_configs type A, "
                        f"names [store], port {port_of(doc.get('http', {}).get('listen'))}")
            elif name != "store" and want not in targets | every:
                problem(path, f"does not scrape {want}")
    check_alert_rules(root, path, docs[0].get("rule_files") or [], metrics, store_jobs)


ALERTS_WANTED = {  # alert: what it must watch (a metric its expression uses)
    "MdflowStoreDown": "up",
    "MdflowStoreGone": "up",
    "MdflowDemandUnmet": "pipeline_rate_scale_factor",
    "MdflowStoreHard": "coordinator_backpressure_hard",
    "MdflowSinkBreakerOpen": "mds_sink_breaker_state",
    "MdflowPipelineFeedbackStale": "mdp_feedback_failsafe",
    "MdflowRetryAcksRising": "mds_batches_total",
    "MdflowPipelinePaused": "mdp_paused",
}


ANNOTATIONS_WANTED = ("summary", "description", "runbook")  # one line, what it means, what to check
PROM_DURATION_RE = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def check_alert_rules(root, config_path, rule_files, metrics, store_jobs):
    """docker/prometheus/rules.yml is loaded by prometheus.yml, mounted by
    compose where the config finds it, watches the alerts we promise with
    documented metrics only, every alert has a `for` and says what it means
    and what to check, the store's `up` is selected by the job that scrapes
    the stores, and every alert has a firing and a quiet unit test in
    rules_test.yml."""
    pdir = os.path.dirname(config_path)
    rules_path = os.path.join(pdir, "rules.yml")
    if "rules.yml" not in [str(r) for r in rule_files]:
        problem(config_path, "rule_files does not load rules.yml (the mdflow alerting rules)")
    # compose: the config and the rules in one directory of the container, as
    # rule_files resolves relative to the config file.
    svc = compose_services(root).get("prometheus") or {}
    mounts = {os.path.normpath(t): os.path.normpath(os.path.join(root, "docker", src))
              for src, t, _ in compose_volumes(svc) if src.startswith(".")}
    config_target = next((t for t, src in mounts.items() if src == os.path.normpath(config_path)), None)
    if config_target is None:
        problem("docker/docker-compose.yml", "service prometheus does not mount prometheus/prometheus.yml")
    else:
        for rf in rule_files:
            want = os.path.normpath(os.path.join(os.path.dirname(config_target), str(rf)))
            if mounts.get(want) != os.path.normpath(os.path.join(pdir, str(rf))):
                problem("docker/docker-compose.yml", f"service prometheus: {rf} is not mounted at {want}, "
                        "where the config loads it from")
    docs = load_yaml(rules_path)
    alerts = {}
    for g in ((docs[0] or {}).get("groups") or []) if docs and isinstance(docs[0], dict) else []:
        for r in g.get("rules") or []:
            if r.get("alert"):
                alerts[r["alert"]] = str(r.get("expr", ""))
                check_alert_form(rules_path, r, store_jobs)
    for alert, expr in sorted(alerts.items()):
        for name in sorted(set(METRIC_RE.findall(expr)) - LABEL_NAMES - metrics):
            problem(rules_path, f"alert {alert}: metric {name} is not one the services document")
    for alert, metric in ALERTS_WANTED.items():
        if alert not in alerts:
            problem(rules_path, f"no alert {alert}")
        elif not re.search(r"\b%s\b" % metric, alerts[alert]):
            problem(rules_path, f"alert {alert} does not watch {metric}")
    tests_path = os.path.join(pdir, "rules_test.yml")
    tdocs = load_yaml(tests_path)
    fires, quiet = set(), set()
    for t in ((tdocs[0] or {}).get("tests") or []) if tdocs and isinstance(tdocs[0], dict) else []:
        for a in t.get("alert_rule_test") or []:
            (fires if a.get("exp_alerts") else quiet).add(a.get("alertname"))
    for alert in sorted(alerts):
        if alert not in fires:
            problem(tests_path, f"no unit test where {alert} fires")
        if alert not in quiet:
            problem(tests_path, f"no unit test where {alert} stays quiet")


def check_alert_form(rules_path, rule, store_jobs):
    """One alerting rule: a non-zero `for` (a blip never fires), the three
    annotations an operator reads, and `up` of the store's scrape job."""
    name = rule["alert"]
    dur = str(rule.get("for", ""))
    if not PROM_DURATION_RE.match(dur) or not re.search(r"[1-9]", dur):
        problem(rules_path, f"alert {name}: no `for` (it fires on one evaluation)")
    ann = rule.get("annotations") or {}
    for key in ANNOTATIONS_WANTED:
        if len(str(ann.get(key, "")).split()) < (3 if key == "summary" else 8):
            problem(rules_path, f"alert {name}: annotation {key} missing or too short to tell an operator "
                    "what it means and what to check")
    for job in re.findall(r"\bup\{[^}]*\bjob=\"([^\"]*)\"", str(rule.get("expr", ""))):
        if job not in store_jobs:
            problem(rules_path, f"alert {name}: up{{job=\"{job}\"}} is no job of prometheus.yml that scrapes "
                    f"the stores ({', '.join(sorted(j for j in store_jobs if j)) or 'none'})")


def check_grafana(root, metrics):
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
    variables = {v.get("name"): v for v in (dash.get("templating") or {}).get("list") or []}
    var = variables.get("coordinator") or {}
    var_query = json.dumps(var.get("query") or var.get("definition") or "")
    if not var or "coordinator_id" not in var_query:
        problem(path, "no `coordinator` template variable over the coordinator_id label "
                "(label_values(..., coordinator_id)) to pick the stores shown")
    depth_panels = []
    for p in dash.get("panels") or []:
        exprs = [t.get("expr", "") for t in p.get("targets") or []]
        for t in p.get("targets") or []:
            uid = (t.get("datasource") or p.get("datasource") or {}).get("uid")
            if uid not in uids:
                problem(path, f"panel {p.get('title')!r}: datasource uid {uid!r} is not provisioned")
        for e in exprs:
            names = set(METRIC_RE.findall(e)) - LABEL_NAMES
            used |= names
            # Every store series is filtered by the variable (mds_* through a
            # join on the store's coordinator_* series).
            if any(n.startswith(("coordinator_", "mds_")) for n in names) and "$coordinator" not in e:
                problem(path, f"panel {p.get('title')!r}: {e!r} ignores the coordinator variable")
        if any(re.search(r"\bcoordinator_queue_depth\b", e) for e in exprs):
            depth_panels.append((p, " ".join(exprs)))
    for name in sorted(used - metrics):
        problem(path, f"metric {name} is not one the services document (store/README.md, "
                "pipeline/README.md metrics tables)")
    for need in ("coordinator_queue_depth", "coordinator_backpressure_hard", "pipeline_rate_scale_factor",
                 "mdp_bars_ingested_total", "mds_bars_written_total", "mds_feedback_subscribers",
                 # sink health: breaker, errors, draining
                 "mds_sink_breaker_state", "mds_sink_errors_total", "mds_draining"):
        if need not in used:
            problem(path, f"no panel shows {need}")
    # The queue depth is drawn with each store's own watermarks, read from its
    # gauges: fixed threshold lines would be wrong for any store configured
    # differently from docker/config/store.toml.
    if not depth_panels:
        problem(path, "no panel shows coordinator_queue_depth")
    for p, exprs in depth_panels:
        for wm in ("coordinator_queue_low_watermark", "coordinator_queue_high_watermark"):
            if not re.search(r"\b%s\b" % wm, exprs):
                problem(path, f"panel {p.get('title')!r} shows the queue depth without {wm}")
        steps = (((p.get("fieldConfig") or {}).get("defaults") or {}).get("thresholds") or {}).get("steps") or []
        fixed = [st.get("value") for st in steps if st.get("value") is not None]
        if fixed:
            problem(path, f"panel {p.get('title')!r} marks fixed thresholds {fixed}: draw the watermarks "
                    "from the coordinator_queue_*_watermark gauges instead")


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
    # A stage that installs packages cleans apt's caches in the same RUN (a
    # later RUN cannot shrink the layer), without counting on the base
    # image's docker-clean hook.
    for name, instrs in stages.items():
        for instr, args in instrs:
            if instr == "RUN" and "apt-get install" in args:
                for need in ("apt-get clean", "/var/lib/apt/lists/*", "/var/cache/apt/*.bin"):
                    if need not in args or (need.startswith("/") and "rm -rf" not in args):
                        problem(path, f"stage {name}: a RUN that installs packages must also run "
                                "`apt-get clean && rm -rf /var/cache/apt/*.bin /var/lib/apt/lists/*` "
                                f"(missing {need})")
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
        if not hcs or "/health/ready" not in hcs[-1]:
            problem(path, f"stage {name} needs a HEALTHCHECK on /health/ready")
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


WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def container_argv(c):
    return [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]


def check_k8s(root, allowed_store, allowed_pipeline, config_doc, metrics):
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

    # Workloads (Deployments, StatefulSets): {name: (where, object, pod labels,
    # {port name: containerPort}, role, pod spec, kind)}
    deployments = {}
    for where, dep in [wd for k in WORKLOAD_KINDS for wd in by_kind.get(k, [])]:
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
            if ((c.get("readinessProbe") or {}).get("httpGet") or {}).get("path") != "/health/ready":
                problem(where, f"container {c.get('name')}: readinessProbe must GET /health/ready")
            # liveness must not follow the sink: a restart would drop the queue
            if ((c.get("livenessProbe") or {}).get("httpGet") or {}).get("path") != "/health/live":
                problem(where, f"container {c.get('name')}: livenessProbe must GET /health/live")
            # The service is the container's process: SIGTERM goes to it, and
            # what it does at start is in its config, not in a script.
            argv = container_argv(c)
            if shell_script(argv) is not None or "-c" in argv:
                shown = re.sub(r"\s+", " ", " ".join(argv))[:60]
                problem(where, f"container {c.get('name')}: runs a shell wrapper ({shown}...); "
                        "run the service itself, with --config (the stores are found by [store] discover)")
            elif role and c.get("command") and os.path.basename(argv[0]) != f"md-{role}":
                problem(where, f"container {c.get('name')}: command runs {argv[0]}, not md-{role}")
        deployments[dep["metadata"]["name"]] = (where, dep, labels, ports, role, pod, dep.get("kind"))
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
                args = " ".join(a for c in containers for a in container_argv(c))
                if f"/etc/mdflow/{key}" not in args:
                    problem(where, f"containers do not run with --config /etc/mdflow/{key}")

    store_deps = [n for n, v in deployments.items() if v[4] == "store"]
    pipe_deps = [n for n, v in deployments.items() if v[4] == "pipeline"]
    if len(store_deps) != 1 or len(pipe_deps) != 1:
        problem("deploy/k8s", f"need one md-store and one md-pipeline workload, have {store_deps} {pipe_deps}")
        return
    documented = documented_secrets(root)
    for name in store_deps + pipe_deps:
        check_k8s_keys(deployments[name], tomls, documented)
        check_k8s_grace(deployments[name], tomls, config_doc)
    check_k8s_journal(deployments[pipe_deps[0]], tomls, config_doc)
    store_name = store_deps[0]
    store = deployments[store_name]
    # A rollout must not take a store away before its replacement takes
    # batches: the pipelines' share of the sinks would dip meanwhile.
    if store[6] == "Deployment":
        ru = ((store[1].get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
        if str(ru.get("maxUnavailable", "25%")) not in ("0", "0%"):
            problem(store[0], "spec.strategy.rollingUpdate.maxUnavailable must be 0 (with maxSurge >= 1): "
                    "a new store is ready before an old one drains")

    headless = []
    for where, svc in by_kind.get("Service", []):
        spec = svc.get("spec") or {}
        sel = spec.get("selector") or {}
        target = [n for n, v in deployments.items() if sel and all(v[2].get(k) == x for k, x in sel.items())]
        if not target:
            problem(where, f"selector {sel} matches no Deployment or StatefulSet")
            continue
        ports = deployments[target[0]][3]
        for p in spec.get("ports") or []:
            tp = p.get("targetPort", p.get("port"))
            if (isinstance(tp, str) and tp not in ports) or (isinstance(tp, int) and tp not in ports.values()):
                problem(where, f"port {p.get('name')}: targetPort {tp} is not a container port of {target[0]}")
        if spec.get("clusterIP") == "None" and target == [store_name]:
            headless.append(svc["metadata"]["name"])
            # Not-ready stores (draining, starting, their database failing)
            # must not be in the DNS answer the pipelines follow.
            if spec.get("publishNotReadyAddresses") not in (None, False):
                problem(where, "publishNotReadyAddresses must be false: the pipelines ([store] discover) "
                        "would send batches to stores that are draining or cannot commit")
    if not headless:
        problem("deploy/k8s", f"no headless Service (clusterIP: None) selecting {store_name}")
    else:
        pwhere, _, _, _, _, ppod, _ = deployments[pipe_deps[0]]
        cms = {(v.get("configMap") or {}).get("name") for v in ppod.get("volumes") or []}
        pdoc = next((d for (cm, key), d in tomls.items() if cm in cms and key == "pipeline.toml"), None)
        env = {e.get("name"): e.get("value") for c in ppod.get("containers") or [] for e in c.get("env") or []
               if "value" in e}
        if pdoc is not None:
            # The short name (the pod's search path finds it in its own
            # namespace) or a FQDN of it; never the ClusterIP Service, whose
            # name resolves to one virtual IP.
            ports = {sec: store[3].get(sec) for sec in ("ingest", "feedback")}
            check_discover(f"{pwhere} [pipeline.toml]", effective_stores(pdoc, env, config_doc),
                           lambda n: n.split(".")[0] in headless, headless[0], ports)

    check_scaledobject(by_kind.get("ScaledObject", []), store, metrics)


KEYS_BLOCK_MARK = "# CurveZMQ keys, control token and Secrets"


def readme_keys_block(root):
    """deploy/README.md's fenced shell block that makes the keys and Secrets (it
    starts with KEYS_BLOCK_MARK), or None."""
    try:
        text = open(os.path.join(root, "deploy", "README.md"), encoding="utf-8").read()
    except OSError:
        return None
    for lang, block in re.findall(r"^```([\w-]*)\n(.*?)^```", text, re.S | re.M):
        if lang in ("sh", "bash", "") and block.startswith(KEYS_BLOCK_MARK):
            return block
    return None


def documented_secrets(root):
    """{Secret name: {file keys}} from deploy/README.md's
    `kubectl create secret generic NAME --from-file=[KEY=]PATH ...` commands."""
    block = readme_keys_block(root)
    if block is None:
        problem("deploy/README.md", f"no ```sh block starting with {KEYS_BLOCK_MARK!r} "
                "(`mdctl keygen` + `kubectl create secret generic`: how the CurveZMQ Secrets are made)")
        return {}
    out = {}
    for line in re.sub(r"\\\n", " ", block).splitlines():
        m = re.search(r"create secret generic\s+(\S+)(.*)", line)
        if m:
            keys = set()
            for src in re.findall(r"--from-file[= ](\S+)", m.group(2)):
                keys.add(src.split("=", 1)[0] if "=" in src else os.path.basename(src))
            out.setdefault(m.group(1), set()).update(keys)
    return out


def pod_key_mounts(pod, containers):
    """{mountPath: (volume dict, readOnly)} of the pod's containers."""
    vols = {v.get("name"): v for v in pod.get("volumes") or []}
    out = {}
    for c in containers:
        for m in c.get("volumeMounts") or []:
            if m.get("mountPath"):
                out[os.path.normpath(m["mountPath"])] = (vols.get(m.get("name")) or {}, bool(m.get("readOnly")))
    return out


def volume_secrets(vol):
    """([(Secret name, items, optional)], defaultMode) of a Secret volume or a
    projected volume's Secret sources; ([], None) for any other volume."""
    if isinstance(vol.get("secret"), dict):
        s = vol["secret"]
        return [(s.get("secretName"), s.get("items") or [], bool(s.get("optional")))], s.get("defaultMode", 0o644)
    proj = vol.get("projected")
    if isinstance(proj, dict):
        srcs = [(s.get("name"), s.get("items") or [], bool(s.get("optional")))
                for s in (src.get("secret") for src in proj.get("sources") or [] if isinstance(src, dict))
                if isinstance(s, dict)]
        return srcs, proj.get("defaultMode", 0o644)
    return [], None


def secret_files(name, items, documented):
    """{file name in the volume: (key in the Secret, item mode or None)} of one
    Secret source, as deploy/README.md's keys block makes the Secret."""
    if items:
        return {i.get("path"): (i.get("key"), i.get("mode")) for i in items if i.get("key") in documented.get(name, ())}
    return {k: (k, None) for k in documented.get(name, ())}


def check_k8s_grace(dep, tomls, config_doc):
    where, role, pod = dep[0], dep[4], dep[5]
    cms = {(v.get("configMap") or {}).get("name") for v in pod.get("volumes") or []}
    doc = next((d for (cm, key), d in tomls.items() if cm in cms and key == f"{role}.toml"), None)
    if doc is None:
        return
    env = {e.get("name"): e.get("value") for c in pod.get("containers") or [] for e in c.get("env") or []
           if "value" in e}
    grace = pod.get("terminationGracePeriodSeconds", K8S_DEFAULT_GRACE_S)
    check_grace(where, "terminationGracePeriodSeconds",
                duration_seconds(grace) if isinstance(grace, int) else None,
                drain_timeout_ms(doc, env, role, config_doc))


def journal_dir(doc, env, config_doc, workdir):
    """The pipeline's absolute [journal] dir ("" when off)."""
    d = env.get("MDP_JOURNAL_DIR")
    if d is None:
        d = (doc.get("journal") or {}).get("dir")
    if d is None:
        d = config_doc.get("pipeline", {}).get("journal.dir", "data/journal").strip('"')
    return "" if d == "" else os.path.normpath(os.path.join(workdir, d))


def check_k8s_journal(dep, tomls, config_doc):
    """The pipeline's journal must be on a volume claim of its StatefulSet: an
    emptyDir or the container's filesystem loses the unacked ticks with the
    pod (deploy/README.md "The pipeline's journal")."""
    where, obj, pod, kind = dep[0], dep[1], dep[5], dep[6]
    containers = pod.get("containers") or []
    cms = {(v.get("configMap") or {}).get("name") for v in pod.get("volumes") or []}
    doc = next((d for (cm, key), d in tomls.items() if cm in cms and key == "pipeline.toml"), None)
    if doc is None:
        return
    env = {e.get("name"): e.get("value") for c in containers for e in c.get("env") or []
           if "value" in e}
    jdir = journal_dir(doc, env, config_doc, "/var/lib/mdflow")
    if not jdir:
        return
    claims = {(t.get("metadata") or {}).get("name") for t in (obj.get("spec") or {}).get("volumeClaimTemplates") or []}
    mounts = {os.path.normpath(m["mountPath"]): m.get("name") for c in containers
              for m in c.get("volumeMounts") or [] if m.get("mountPath")}
    target = mount_for(jdir, mounts)
    if kind != "StatefulSet" or target is None or mounts[target] not in claims:
        problem(where, f"[journal] dir {jdir} is not on a volume claim of a StatefulSet "
                "(the journal must outlive the pod)")


def check_k8s_keys(dep, tomls, documented):
    where, role, pod = dep[0], dep[4], dep[5]
    containers = pod.get("containers") or []
    cms = {(v.get("configMap") or {}).get("name") for v in pod.get("volumes") or []}
    doc = next((d for (cm, key), d in tomls.items() if cm in cms and key == f"{role}.toml"), None)
    if doc is None:
        return
    env = {e.get("name"): e.get("value") for c in containers for e in c.get("env") or []
           if "value" in e}
    mounts = pod_key_mounts(pod, containers)
    fs_group = (pod.get("securityContext") or {}).get("fsGroup")
    paths = key_paths(f"{where} [{role}.toml]", role, effective_security(doc, env, role))
    own_secret = next((os.path.basename(p) for k, p, _, _ in paths if k == "security.secret_key_file"), None)
    for key, kpath, is_dir, is_secret in paths:
        target = mount_for(kpath, mounts)
        vol, ro = mounts.get(target, ({}, False))
        srcs, default_mode = volume_secrets(vol)
        if target is None or not srcs:
            problem(where, f"{key} {kpath} is on no Secret volume of the pod (the keys are not mounted)")
            continue
        if not ro:
            problem(where, f"Secret volume {vol.get('name')} must be mounted readOnly")
        files = {}
        for name, items, optional in srcs:
            if optional:
                problem(where, f"Secret {name} is optional: without it the service would fail at start; "
                        "let the pod wait for the Secret instead")
            if name not in documented:
                problem(where, f"Secret {name} is made by no `kubectl create secret generic {name} "
                        "--from-file=...` in deploy/README.md's keys block")
                continue
            for k in sorted(documented[name]):
                if k.endswith("_secret") and k != own_secret:
                    problem(where, f"Secret {name} (mounted here) also holds {k}, another service's secret key")
            for fname, (fkey, fmode) in secret_files(name, items, documented).items():
                if fname in files and files[fname][0] != name:
                    problem(where, f"volume {vol.get('name')}: {fname} comes from both Secret "
                            f"{files[fname][0]} and {name}")
                files[fname] = (name, fmode)
        rel = os.path.relpath(kpath, target)
        if is_dir:
            if rel != ".":
                problem(where, f"{key} {kpath} must be the mount path of a Secret volume")
            modes = {m if m is not None else default_mode for _, m in files.values()} or {default_mode}
        elif rel == ".":
            problem(where, f"{key} {kpath} is a directory (a Secret volume), not a file in it")
            continue
        elif rel not in files:
            have = sorted(f"{n}/{f}" for f, (n, _) in files.items())
            problem(where, f"{key} {kpath}: no Secret of volume {vol.get('name')} as deploy/README.md "
                    f"makes it has a file {rel} (they have {have})")
            continue
        else:
            name, fmode = files[rel]
            modes = {fmode if fmode is not None else default_mode}
        for mode in sorted(modes):
            if not (mode & 0o004 or (fs_group is not None and mode & 0o040)):
                problem(where, f"{key} {kpath}: file mode {mode:#o} is not readable by the pod's user "
                        "(set securityContext.fsGroup and a group-readable defaultMode)")
            if is_secret and mode & 0o007:
                problem(where, f"{key} {kpath} is a secret and world-readable (mode {mode:#o})")


# What the KEDA triggers must measure: that the stores cannot take what the
# pipelines ask (the pipelines' rate scale held below 1 by the share policy),
# and how busy the stores' sinks are (drain rate over service rate), which
# also lets it scale in.  With the share policy queue depth and the HARD level
# stay low whatever the demand, so they are no scaling signal.
KEDA_SIGNALS = {
    "the pipelines held back (pipeline_rate_scale_factor)": ("pipeline_rate_scale_factor",),
    "the stores' busy fraction (mds_sink_drain_rate / mds_sink_service_rate)":
        ("mds_sink_drain_rate", "mds_sink_service_rate"),
}


def check_k8s_monitoring(root):
    """The Prometheus Operator objects (deploy/k8s/optional): the
    PrometheusRule carries rules.yml's groups unchanged, and the
    ServiceMonitor gives the store's metrics the job the rules select
    (`up{job=...}`), through its jobLabel on the store Service; both carry
    the `release` label a kube-prometheus-stack Prometheus selects by."""
    docs = k8s_docs(root)
    by_kind = {}
    for where, d in docs:
        if isinstance(d, dict):
            by_kind.setdefault(d.get("kind"), []).append((where, d))
    rules_doc = (load_yaml(os.path.join(root, "docker", "prometheus", "rules.yml")) or [{}])[0] or {}
    groups = rules_doc.get("groups")
    rule_jobs = {j for g in groups or [] for r in g.get("rules") or []
                 for j in re.findall(r"\bup\{[^}]*\bjob=\"([^\"]*)\"", str(r.get("expr", "")))}
    prs = by_kind.get("PrometheusRule") or []
    sms = by_kind.get("ServiceMonitor") or []
    if len(prs) != 1 or len(sms) != 1:
        problem("deploy/k8s/optional", f"want one PrometheusRule and one ServiceMonitor, found {len(prs)} and {len(sms)}")
        return
    (pr_where, pr), (sm_where, sm) = prs[0], sms[0]
    if (pr.get("spec") or {}).get("groups") != groups:
        problem(pr_where, "spec.groups are not the groups of docker/prometheus/rules.yml: run tools/prometheusrule.py")
    release = {w: ((d.get("metadata") or {}).get("labels") or {}).get("release") for w, d in (prs[0], sms[0])}
    if not all(release.values()) or len(set(release.values())) != 1:
        problem(sm_where, f"the PrometheusRule and the ServiceMonitor need the same `release` label (the one "
                f"kube-prometheus-stack selects by): {release}")
    spec = sm.get("spec") or {}
    job_label = spec.get("jobLabel")
    ports = {e.get("port") for e in spec.get("endpoints") or []}
    sel = spec.get("selector") or {}
    scraped_jobs = set()
    for where, svc in by_kind.get("Service") or []:
        labels = (svc.get("metadata") or {}).get("labels") or {}
        if not all(labels.get(k) == v for k, v in (sel.get("matchLabels") or {}).items()):
            continue
        if not all(labels.get(e.get("key")) in (e.get("values") or []) for e in sel.get("matchExpressions") or []
                   if e.get("operator") == "In"):
            continue
        if not ports & {p.get("name") for p in (svc.get("spec") or {}).get("ports") or []}:
            continue  # selected but has no port to scrape (the headless Service)
        job = labels.get(job_label) if job_label else svc["metadata"].get("name")
        if (svc.get("spec") or {}).get("selector", {}).get("app.kubernetes.io/name") == "md-store":
            scraped_jobs.add(job)
    for job in sorted(rule_jobs):
        if job not in scraped_jobs:
            problem(sm_where, f"the alerting rules select up{{job=\"{job}\"}} but the ServiceMonitor scrapes the "
                    f"stores as job {sorted(j for j in scraped_jobs if j) or 'nothing'} (set jobLabel)")


def check_scaledobject(objs, store, metrics):
    if len(objs) != 1:
        problem("deploy/k8s", f"need exactly one KEDA ScaledObject, have {len(objs)}")
        return
    where, so = objs[0]
    store_name, store_kind = store[1]["metadata"]["name"], store[6]
    if so.get("apiVersion") != "keda.sh/v1alpha1":
        problem(where, "apiVersion must be keda.sh/v1alpha1")
    spec = so.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    # The workload KEDA scales is the store workload whose grace period
    # (check_k8s_grace) and readiness were checked above.
    if ref.get("name") != store_name or ref.get("kind", "Deployment") != store_kind:
        problem(where, f"scaleTargetRef must name {store_kind} {store_name} (the store workload), names "
                f"{ref.get('kind', 'Deployment')} {ref.get('name')!r}")
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
    scope = f'coordinator_id=~"{store_name}-.*"'
    for t in spec.get("triggers") or []:
        md = t.get("metadata") or {}
        name = t.get("name")
        if t.get("type") != "prometheus":
            problem(where, f"trigger {name}: type must be prometheus")
        if not md.get("serverAddress") or not md.get("query") or not md.get("threshold"):
            problem(where, f"trigger {name}: needs serverAddress, query, threshold")
        if t.get("metricType", "AverageValue") != "AverageValue":
            problem(where, f"trigger {name}: fallback only works with metricType AverageValue")
        q = str(md.get("query") or "")
        queries.append(q)
        used = set(METRIC_RE.findall(q)) - LABEL_NAMES
        for m in sorted(used - metrics):
            problem(where, f"trigger {name}: metric {m} is not one the services document")
        # Only this deployment's stores: every store series is selected by the
        # store pods' coordinator_id (the pod name), the mds_* gauges through
        # a join on such a series.
        for sel in re.findall(r"\bcoordinator_[a-z_]+(\{[^}]*\})?", q):
            if scope not in sel:
                problem(where, f"trigger {name}: a coordinator_* series without {{{scope}}}: "
                        "it would count other deployments' stores")
                break
        if any(m.startswith("mds_") for m in used) and not re.search(r"\bcoordinator_[a-z_]+\{", q):
            problem(where, f"trigger {name}: mds_* series carry no coordinator_id: join them on instance "
                    f"to a coordinator_* series selected by {{{scope}}}")
    for what, names in KEDA_SIGNALS.items():
        if not any(all(re.search(r"\b%s\b" % n, q) for n in names) for q in queries):
            problem(where, f"no trigger on {what}")


# --------------------------------------------------------------------------
# --stage-keys / --compose-plan: real keys where the mounts would put them

KUBECTL_STANDIN = r'''
"""kubectl stand-in for deploy/README.md's keys block: `create secret generic
NAME --from-file=[KEY=]PATH ...` writes the Secret as files in $MDF_SECRETS/NAME;
anything else fails."""
import os, shutil, sys
args, i = [], 1
while i < len(sys.argv):
    a = sys.argv[i]
    if a in ("-n", "--namespace"):
        i += 2
        continue
    if not a.startswith("--namespace="):
        args.append(a)
    i += 1
if args[:3] != ["create", "secret", "generic"] or len(args) < 5:
    sys.exit(f"kubectl stand-in: unsupported command: kubectl {' '.join(sys.argv[1:])}")
out = os.path.join(os.environ["MDF_SECRETS"], args[3])
if os.path.exists(out):
    sys.exit(f"kubectl stand-in: secret {args[3]} already exists")
os.makedirs(out)
rest = args[4:]
for j, a in enumerate(rest):
    if a.startswith("--from-file="):
        src = a.split("=", 1)[1]
    elif a == "--from-file" and j + 1 < len(rest):
        src = rest[j + 1]
    elif j > 0 and rest[j - 1] == "--from-file":
        continue
    else:
        sys.exit(f"kubectl stand-in: unsupported argument {a}")
    key, path = src.split("=", 1) if "=" in src else (os.path.basename(src), src)
    files = [(key, path)] if not os.path.isdir(path) else \
        [(f, os.path.join(path, f)) for f in sorted(os.listdir(path)) if os.path.isfile(os.path.join(path, f))]
    for k, f in files:
        shutil.copyfile(f, os.path.join(out, k))
print(f"secret/{args[3]} created")
'''


def compose_services(root):
    docs = load_yaml(os.path.join(root, "docker", "docker-compose.yml"))
    return (docs[0].get("services") or {}) if docs and isinstance(docs[0], dict) else {}


def compose_argv(svc):
    """entrypoint + command of a compose service as an argv, $$ unescaped."""
    argv = []
    for k in ("entrypoint", "command"):
        v = svc.get(k)
        if isinstance(v, str):
            v = shlex.split(v)
        argv += [str(a).replace("$$", "$") for a in v or []]
    return argv


def link_mount(fake_root, target, source):
    """Make fake_root+target a symlink to source (the mount, as the container sees it)."""
    where = fake_root + os.path.normpath(target)
    os.makedirs(os.path.dirname(where), exist_ok=True)
    os.symlink(source, where)


def zcert_public(path):
    """The public key (Z85) in a zcert file (public or secret), or None."""
    try:
        m = re.search(r'public-key\s*=\s*"([^"]{40})"', open(path, encoding="utf-8").read())
    except (OSError, UnicodeDecodeError):
        return None
    return m.group(1) if m else None


def rewrite_toml(text, role, sec, fake_root, out):
    """Copy of a TOML whose key and token paths point under fake_root."""
    for key, _, _ in KEY_PATHS[role]:
        path = str(sec.get(key) or "")
        if path.startswith("/"):
            quoted = json.dumps(path)
            if text.count(quoted) != 1:
                raise ValueError(f"cannot rewrite {key} {path}: not exactly once in the TOML")
            text = text.replace(quoted, json.dumps(fake_root + path))
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)


def check_token(label, path, private):
    """The staged control token is one the pipeline takes and hard to guess;
    private: its mode must also keep everyone but the owner out (compose)."""
    try:
        with open(path, "rb") as f:
            first = f.read(4096).split(b"\n", 1)[0].rstrip(b" \t\r")
    except OSError as e:
        problem(label, f"cannot read the control token: {e}")
        return
    token = first.decode("ascii", "replace")
    if not TOKEN_RE.match(token):
        problem(label, "the control token's first line is not 1..256 visible ASCII characters: "
                "the pipeline would refuse to start")
    elif len(token) < TOKEN_MIN_CHARS:
        problem(label, f"the control token has {len(token)} characters: too short to hold 32 random bytes "
                f"(base64: {TOKEN_MIN_CHARS}+)")
    if private and os.stat(path).st_mode & 0o077:
        problem(label, f"the control token is readable by others than its owner "
                f"(mode {os.stat(path).st_mode & 0o777:#o}; want 0400 for uid 10001)")


def check_pairing(label, fake, sec, private=False):
    """The staged keys and token exist and pair up: problems otherwise."""
    st, pl = sec["store"], sec["pipeline"]
    missing = False
    for role, s in sec.items():
        for key, is_dir, _ in KEY_PATHS[role]:
            path = fake[role] + str(s.get(key) or "")
            if not (os.path.isdir(path) if is_dir else os.path.isfile(path)):
                problem(label, f"{role} {key} {s.get(key)}: no such "
                        f"{'directory' if is_dir else 'file'} where the deployment puts the keys")
                missing = True
    if missing:
        return
    check_token(label, fake["pipeline"] + pl.get(TOKEN_KEY, ""), private)
    store_pub = zcert_public(fake["store"] + st.get("security.secret_key_file", ""))
    pipe_pub = zcert_public(fake["pipeline"] + pl.get("security.secret_key_file", ""))
    trusted = zcert_public(fake["pipeline"] + pl.get("security.server_public_key_file", ""))
    adir = fake["store"] + st.get("security.authorized_keys_dir", "")
    admitted = set()
    if os.path.isdir(adir):
        for f in sorted(os.listdir(adir)):  # as czmq's zcertstore: hidden names skipped
            if not f.startswith(".") and os.path.isfile(os.path.join(adir, f)):
                admitted.add(zcert_public(os.path.join(adir, f)))
    if not store_pub or not pipe_pub:
        problem(label, "the staged keys lack a store or pipeline secret key file")
        return
    if trusted != store_pub:
        problem(label, "the pipeline's server_public_key_file is not the store's public key: "
                "the pipeline would refuse the store")
    if pipe_pub not in admitted:
        problem(label, "the pipeline's public key is not in the store's authorized_keys_dir: "
                "the store would refuse the pipeline")


def file_contents(top):
    """{path relative to top: bytes} of every file under top."""
    out = {}
    for d, _, files in os.walk(top):
        for f in files:
            with open(os.path.join(d, f), "rb") as fh:
                out[os.path.relpath(os.path.join(d, f), top)] = fh.read()
    return out


def same_in_two_deployments(where, first, second):
    """Problems for files two separate deployments got with the same content:
    keys and token must be made at random, never copied from the repository."""
    for rel in sorted(set(first) & set(second)):
        if first[rel] == second[rel]:
            problem(where, f"two deployments got the same {rel}: it is not made at random at deploy time")


def run_compose_writer(name, svc, writers, base, env, runs):
    """Run the one-shot writer `runs` times on fresh stand-ins for its volumes
    under base; returns the volumes' directory, or None when it failed."""
    vols = os.path.join(base, "vol")
    fake = os.path.join(base, f"root-{name}")
    for src, target, _ in compose_volumes(svc):
        if src in writers:
            os.makedirs(os.path.join(vols, src), exist_ok=True)
            link_mount(fake, target, os.path.join(vols, src))
    cwd = fake + os.path.normpath(svc.get("working_dir") or "/")
    os.makedirs(cwd, exist_ok=True)
    made = None
    for run in runs:  # a second `up` must keep the keys and the token
        r = subprocess.run(compose_argv(svc), cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            problem(f"docker-compose.yml service {name}", f"its command failed{run} (exit {r.returncode}): "
                    + (r.stdout + r.stderr).strip().replace("\n", " | "))
            return None
        files = file_contents(vols)
        if made is not None and files != made:
            changed = sorted(k for k in set(files) | set(made) if files.get(k) != made.get(k))
            problem(f"docker-compose.yml service {name}", f"running it again changed {changed} (every `up` "
                    "would lock out the clients admitted so far, or invalidate the control token)")
        made = files
    return vols


def stage_compose(root, out, env):
    services = compose_services(root)
    writers = compose_key_writers(services)
    vols = os.path.join(out, "compose", "vol")
    for name in sorted({w for w, _ in writers.values()}):
        svc = services[name]
        if run_compose_writer(name, svc, writers, os.path.join(out, "compose"), env, ("", " again")) is None:
            return []
        # Another deployment (fresh volumes) must get other keys and another token.
        other = run_compose_writer(name, svc, writers, os.path.join(out, "compose-other"), env, ("",))
        if other is not None:
            same_in_two_deployments(f"docker-compose.yml service {name}", file_contents(vols), file_contents(other))
    staged, fakes, secs = [], {}, {}
    for role in ("store", "pipeline"):
        svc = services.get(role) or {}
        fake = os.path.join(out, "compose", f"root-{role}")
        os.makedirs(fake, exist_ok=True)
        for src, target, _ in compose_volumes(svc):
            if src in writers:
                link_mount(fake, target, os.path.join(vols, src))
        text = open(os.path.join(root, "docker", "config", f"{role}.toml"), encoding="utf-8").read()
        sec = effective_security(tomllib.loads(text), compose_env(svc), role)
        dest = os.path.join(out, f"compose--{role}.toml")
        rewrite_toml(text, role, sec, fake, dest)
        staged.append((role, dest))
        fakes[role], secs[role] = fake, sec
    check_pairing("compose (keys service)", fakes, secs, private=True)
    return staged


def run_keys_block(block, work, env):
    """Run deploy/README.md's keys block in a new directory work; True when it succeeded."""
    os.makedirs(work)
    r = subprocess.run(["/bin/sh", "-e", "-c", block], cwd=work, env=env, capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        problem("deploy/README.md keys block", f"failed (exit {r.returncode}): "
                + (r.stdout + r.stderr).strip().replace("\n", " | "))
    return r.returncode == 0


def stage_k8s(root, out, env):
    block = readme_keys_block(root)
    if block is None:
        problem("deploy/README.md", f"no keys block starting with {KEYS_BLOCK_MARK!r}")
        return []
    if not run_keys_block(block, os.path.join(out, "k8s", "work"), env):
        return []
    secrets = env["MDF_SECRETS"]
    # Run as written a second time (another cluster): nothing may come out the same.
    env2 = dict(env, MDF_SECRETS=os.path.join(out, "k8s-other", "secrets"))
    os.makedirs(env2["MDF_SECRETS"])
    if run_keys_block(block, os.path.join(out, "k8s-other", "work"), env2):
        same_in_two_deployments("deploy/README.md keys block", file_contents(secrets),
                                file_contents(env2["MDF_SECRETS"]))
    docs = [d for _, d in k8s_docs(root) if isinstance(d, dict)]
    cms = {(d.get("metadata") or {}).get("name"): d.get("data") or {} for d in docs if d.get("kind") == "ConfigMap"}
    staged, fakes, secs = [], {}, {}
    for d in docs:
        if d.get("kind") not in WORKLOAD_KINDS:
            continue
        pod = ((d.get("spec") or {}).get("template") or {}).get("spec") or {}
        containers = pod.get("containers") or []
        images = " ".join(str(c.get("image")) for c in containers)
        role = "store" if "md-store" in images else "pipeline" if "md-pipeline" in images else None
        if role is None:
            continue
        fake = os.path.join(out, "k8s", f"root-{role}")
        os.makedirs(fake, exist_ok=True)
        text = None
        for mpath, (vol, _) in pod_key_mounts(pod, containers).items():
            cm = (vol.get("configMap") or {}).get("name")
            if cm in cms and f"{role}.toml" in cms[cm]:
                text = cms[cm][f"{role}.toml"]
            srcs, _ = volume_secrets(vol)
            if not srcs:
                continue
            # The volume as kubelet fills it: every Secret source's files (or
            # its items) in one directory.  A Secret the block did not make
            # leaves its files out (the pod would wait for it forever).
            dest = os.path.join(out, "k8s", f"vol-{role}-{vol.get('name')}")
            os.makedirs(dest, exist_ok=True)
            for name, items, _ in srcs:
                sdir = os.path.join(secrets, str(name))
                if not os.path.isdir(sdir):
                    continue
                pairs = [(i.get("key"), i.get("path")) for i in items] if items else \
                    [(f, f) for f in sorted(os.listdir(sdir))]
                for key, path in pairs:
                    if key and path and os.path.isfile(os.path.join(sdir, key)):
                        os.makedirs(os.path.dirname(os.path.join(dest, path)), exist_ok=True)
                        shutil.copyfile(os.path.join(sdir, key), os.path.join(dest, path))
            link_mount(fake, mpath, dest)
        if text is None:
            continue
        env_vars = {e.get("name"): e.get("value") for c in containers for e in c.get("env") or [] if "value" in e}
        sec = effective_security(tomllib.loads(text), env_vars, role)
        dest = os.path.join(out, f"{d['metadata']['name']}--{role}.toml")
        rewrite_toml(text, role, sec, fake, dest)
        staged.append((role, dest))
        fakes[role], secs[role] = fake, sec
    if set(fakes) == {"store", "pipeline"}:
        check_pairing("deploy/k8s (Secrets from deploy/README.md)", fakes, secs)
    return staged


def stage_keys(root, out):
    """--stage-keys: see the module comment.  Returns the exit status."""
    mdctl = os.path.join(os.environ.get("MDF_BUILD_ROOT", ""), "tools", "mdctl")
    if not os.access(mdctl, os.X_OK):
        print(f"SKIP: {mdctl} not built")
        return 77
    out = os.path.abspath(out)
    bindir = os.path.join(out, "bin")
    os.makedirs(bindir, exist_ok=True)
    os.symlink(mdctl, os.path.join(bindir, "mdctl"))
    # Ownership is not what this checks (compose_netns.sh runs the real chown as root).
    with open(os.path.join(bindir, "chown"), "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    with open(os.path.join(bindir, "kubectl"), "w") as f:
        f.write(f"#!{sys.executable}\n" + KUBECTL_STANDIN)
    for tool in ("chown", "kubectl"):
        os.chmod(os.path.join(bindir, tool), 0o755)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
               MDF_SECRETS=os.path.join(out, "k8s", "secrets"), HOME=out)
    os.makedirs(env["MDF_SECRETS"], exist_ok=True)
    staged = []
    try:
        staged += stage_compose(root, out, env)
        staged += stage_k8s(root, out, env)
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired, tomllib.TOMLDecodeError) as e:
        problem("--stage-keys", str(e))
    for p in dict.fromkeys(problems):
        print(f"problem: {p}")
    for role, path in staged:
        print(f"{role} {path}")
    return 1 if problems else 0


def compose_plan(root, out):
    """--compose-plan: see the module comment."""
    services = compose_services(root)
    writers = compose_key_writers(services)
    if not writers:
        print("problem: no one-shot compose service writes a key volume")
        return 1
    vols = os.path.join(os.path.abspath(out), "vol")
    names = sorted({w for w, _ in writers.values()})
    if len(names) != 1:
        print(f"problem: expected one key-writing service, found {names}")
        return 1
    svc = services[names[0]]
    with open(os.path.join(out, "keys.sh"), "w", encoding="utf-8") as f:
        f.write(shlex.join(compose_argv(svc)) + "\n")
    print(f"writer {names[0]} {os.path.normpath(svc.get('working_dir') or '/')}")
    for name, s in services.items():
        for src, target, ro in compose_volumes(s) if isinstance(s, dict) else []:
            if src in writers:
                os.makedirs(os.path.join(vols, src), exist_ok=True)
                print(f"mount {name} {os.path.join(vols, src)} {os.path.normpath(target)} {'ro' if ro else 'rw'}")
    # How compose starts store and pipeline, for running them the same way:
    # SERVICE.argv (NUL-separated) and SERVICE.env (NUL-separated KEY=VALUE).
    try:
        stages = dockerfile_stages(open(os.path.join(root, "docker", "Dockerfile"), encoding="utf-8").read())
    except OSError as e:
        print(f"problem: cannot read the Dockerfile: {e}")
        return 1
    for name in ("store", "pipeline"):
        svc = services.get(name)
        if not isinstance(svc, dict):
            print(f"problem: no compose service {name}")
            return 1
        argv = service_argv(svc, stages, os.path.join(root, "docker"))
        if not argv:
            print(f"problem: cannot tell how compose starts {name}")
            return 1
        with open(os.path.join(out, f"{name}.argv"), "w", encoding="utf-8") as f:
            f.write("".join(a + "\0" for a in argv))
        with open(os.path.join(out, f"{name}.env"), "w", encoding="utf-8") as f:
            f.write("".join(f"{k}={v}\0" for k, v in compose_env(svc).items()))
        print(f"argv {name} {shlex.join(argv)}")
    return 0


def image_exec(stages, stage, what):
    """The ENTRYPOINT or CMD (what) a Dockerfile stage runs with, as a list
    (exec form), following the stages it is built FROM; None when unset."""
    seen = set()
    while stage in stages and stage not in seen:
        seen.add(stage)
        for instr, args in reversed(stages[stage]):
            if instr == what:
                try:
                    return [str(a) for a in json.loads(args)]
                except ValueError:
                    return ["/bin/sh", "-c", args]
        stage = stages[stage][0][1].lower()
    return None


def service_argv(svc, stages, compose_dir):
    """What a compose service's container runs: its entrypoint (or the
    image's) and command (or the image's CMD, unless compose replaces the
    entrypoint, which drops it), with $$ unescaped, files bind-mounted from
    the repository replaced by their path here, and the binaries the image
    installs in /usr/local/bin by their name (found on PATH)."""
    target = (svc.get("build") or {}).get("target")
    entry = svc.get("entrypoint")
    command = svc.get("command")
    as_list = (lambda v: shlex.split(v) if isinstance(v, str) else [str(a) for a in v or []])
    argv = as_list(entry) if entry is not None else (image_exec(stages, target, "ENTRYPOINT") or [])
    if command is not None:
        argv += as_list(command)
    elif entry is None:
        argv += image_exec(stages, target, "CMD") or []
    files = {os.path.normpath(t): os.path.normpath(os.path.join(compose_dir, src))
             for src, t, _ in compose_volumes(svc) if src.startswith(".")}
    out = []
    for a in argv:
        a = a.replace("$$", "$")
        m = re.fullmatch(r"/usr/local/bin/(md-store|md-pipeline|mdctl)", a)
        out.append(m.group(1) if m else files.get(os.path.normpath(a), a) if a.startswith("/") else a)
    return out


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
    if len(sys.argv) == 3 and sys.argv[1] == "--stage-keys":
        return stage_keys(root, sys.argv[2])
    if len(sys.argv) == 3 and sys.argv[1] == "--compose-plan":
        return compose_plan(root, sys.argv[2])
    allowed_store, allowed_pipeline, metrics, documented = allowed_keys(root)
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
    check_compose(root, docs["store"], docs["pipeline"], documented)
    check_prometheus(root, docs["store"], docs["pipeline"], metrics)
    check_grafana(root, metrics)
    check_dockerfile(root, docs["store"], docs["pipeline"], os.environ.get("MDF_BUILD_ROOT"))
    check_k8s(root, allowed_store, allowed_pipeline, documented, metrics)
    check_k8s_monitoring(root)
    unique = list(dict.fromkeys(problems))
    for p in unique:
        print(p)
    print(f"check_deploy: {len(unique)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
