#!/usr/bin/env python3
"""prometheusrule.py: deploy/k8s/optional/prometheusrule.yaml from
docker/prometheus/rules.yml, so that Kubernetes gets the very alerts compose
has.

    tools/prometheusrule.py            rewrite the manifest
    tools/prometheusrule.py --check    exit 1 if it differs from what
                                       rules.yml gives (meson test
                                       deploy-prometheusrule)

The manifest is a PrometheusRule (monitoring.coreos.com/v1) whose
spec.groups are rules.yml's groups, key for key.  Its `release` label is the
one kube-prometheus-stack's Prometheus selects rules by (its
ruleSelector, the Helm release name: kube-prometheus-stack by default);
deploy/README.md says how to change it.
"""
import difflib
import os
import sys

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
RULES = os.path.join("docker", "prometheus", "rules.yml")
MANIFEST = os.path.join("deploy", "k8s", "optional", "prometheusrule.yaml")
RELEASE = "kube-prometheus-stack"

HEADER = f"""\
# Generated from {RULES} by tools/prometheusrule.py: do not edit,
# change rules.yml and run the tool (CI fails when the two differ).
# The mdflow alerting rules for the Prometheus Operator
# (monitoring.coreos.com/v1).  Not in kustomization.yaml because the CRD may
# be absent; apply it on its own, next to servicemonitor.yaml.  The `release`
# label must match your Prometheus' ruleSelector (kube-prometheus-stack: the
# Helm release name); deploy/README.md, "Scraping and alerts on Kubernetes".
"""


class Dumper(yaml.SafeDumper):
    """Block style, sequences indented under their key (as yamllint and the
    other manifests have them)."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _str(dumper, text):
    """Long texts (expressions, annotations) folded (>-) as in rules.yml."""
    style = ">" if len(text) > 60 and "\n" not in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


Dumper.add_representer(str, _str)


def render(root):
    with open(os.path.join(root, RULES), encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "mdflow",
            "labels": {"app.kubernetes.io/part-of": "mdflow", "release": RELEASE},
        },
        "spec": {"groups": rules["groups"]},
    }
    return HEADER + yaml.dump(doc, Dumper=Dumper, sort_keys=False, width=80, allow_unicode=True)


def main(argv):
    root = os.environ.get("MDF_SOURCE_ROOT") or ROOT
    want = render(root)
    path = os.path.join(root, MANIFEST)
    if argv[1:] == ["--check"]:
        have = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
        if have != want:
            print(f"{MANIFEST} is not what {RULES} gives; run tools/prometheusrule.py. Differences:")
            sys.stdout.writelines(difflib.unified_diff(have.splitlines(True), want.splitlines(True),
                                                       MANIFEST, "from " + RULES))
            return 1
        print(f"{MANIFEST} has the rules of {RULES}")
        return 0
    if argv[1:]:
        print(__doc__)
        return 2
    with open(path, "w", encoding="utf-8") as f:
        f.write(want)
    print(f"wrote {MANIFEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
