#!/usr/bin/env python3
"""docs_settings.py REFERENCE: durations the deployment files and their
READMEs quote for a setting must be that setting's value (called by
tests/docs_check.sh, test docs-config-reference).

REFERENCE is the configuration reference (build/tools/config-reference's
output: every key with its default).  A quote is a duration next to a key
name, either way round:

    `forget_after_ms` (10 s)        every 0.5 s ([store] discover_interval_ms)

and the discovery interval quoted without its name ("looked up again every
0.5 s", "the pipelines' 0.5 s lookups").  A quote is right when it equals
the key's default, or a value one of the shipped configs sets for it
(docker/config/*.toml, the TOMLs of deploy/k8s/configmap.yaml): both
`drain_timeout_ms` (30 s, the store's) and (5 s, the pipeline's) are.
Files: docker/config/*.toml, deploy/k8s/*.yaml, docker/README.md,
deploy/README.md.  Prints each wrong quote with its file and line; exit 1
if any.
"""
import glob
import os
import re
import sys

UNIT_MS = {"ms": 1, "s": 1000, "min": 60000, "minute": 60000, "minutes": 60000}
NUM = r"(\d+(?:[.,]\d+)*)\s?(ms|s|min|minutes?)\b"
KEY = r"`?(?:\[[a-z_]+\]\s)?`?([a-z_]+_ms)`?"
AFTER_KEY = re.compile(KEY + r"\s\(" + NUM)           # key (N s
BEFORE_KEY = re.compile(NUM + r"\s\(" + KEY)          # N s (key
# the discovery interval without its name
DISCOVERY = re.compile(r"(?:(?:look(?:ed)?\s+up|resolve[sd]?)[^.;()]{0,40}?\severy\s" + NUM +
                       r"|" + NUM + r"\slookups)")


def ms_of(num, unit):
    return float(num.replace(",", "")) * UNIT_MS[unit]


def reference_defaults(text):
    """{leaf key: {default in ms}} from the reference's `section.key` rows."""
    out = {}
    for m in re.finditer(r"^\| `[a-z_]+\.([a-z_]+_ms)` \| [a-z]+ \| `(-?\d+)` \|", text, re.M):
        out.setdefault(m.group(1), set()).add(float(m.group(2)))
    return out


def shipped_values(root):
    """{leaf key: {value}} set by the shipped TOMLs (only *_ms integers)."""
    texts = [open(p, encoding="utf-8").read() for p in glob.glob(os.path.join(root, "docker", "config", "*.toml"))]
    cm = os.path.join(root, "deploy", "k8s", "configmap.yaml")
    if os.path.exists(cm):
        texts.append(open(cm, encoding="utf-8").read())   # the TOMLs are its block scalars
    out = {}
    for t in texts:
        for m in re.finditer(r"^\s*([a-z_]+_ms)\s*=\s*(\d+)", t, re.M):
            out.setdefault(m.group(1), set()).add(float(m.group(2)))
    return out


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    root = os.environ.get("MDF_SOURCE_ROOT") or os.path.join(os.path.dirname(__file__), "..")
    defaults = reference_defaults(open(argv[1], encoding="utf-8").read())
    if "discover_interval_ms" not in defaults:
        print("docs_settings: the reference has no discover_interval_ms; is it the config reference?")
        return 1
    allowed = {k: set(v) for k, v in defaults.items()}
    for k, v in shipped_values(root).items():
        allowed.setdefault(k, set()).update(v)
    files = sorted(glob.glob(os.path.join(root, "docker", "config", "*.toml")) +
                   glob.glob(os.path.join(root, "deploy", "k8s", "*.yaml")) +
                   [os.path.join(root, "docker", "README.md"), os.path.join(root, "deploy", "README.md")])
    bad, quotes = [], 0
    for path in files:
        text = open(path, encoding="utf-8").read()
        flat = re.sub(r"\s*\n\s*(?:#\s*)?", " ", text)    # sentences across lines and comment marks
        found = []
        for m in AFTER_KEY.finditer(flat):
            found.append((m.group(1), m.group(2), m.group(3), m.group(0)))
        for m in BEFORE_KEY.finditer(flat):
            found.append((m.group(3), m.group(1), m.group(2), m.group(0)))
        for m in DISCOVERY.finditer(flat):
            num, unit = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            found.append(("discover_interval_ms", num, unit, m.group(0)))
        rel = os.path.relpath(path, root)
        for key, num, unit, quote in found:
            if key not in allowed:
                continue   # not a setting of ours (a Kubernetes field, say)
            quotes += 1
            if os.environ.get("MDF_VERBOSE"):
                print(f"{rel}: {quote!r} -> {key}")
            if ms_of(num, unit) not in allowed[key]:
                want = " or ".join(f"{v / 1000:g} s" for v in sorted(allowed[key]))
                bad.append(f"{rel}: \"{quote}\": {key} is {want} (default or a shipped config)")
    for b in bad:
        print(b)
    print(f"docs_settings: {quotes} quoted setting values checked in {len(files)} files, {len(bad)} wrong")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
