#!/usr/bin/env python3
"""The deploy checks catch breakage (meson suite 'deploy').

A check that passes on anything is worse than none.  This copies docker/,
deploy/ and the READMEs the checks read into a scratch root, confirms the
untouched copy passes every check, then applies one realistic mistake at a
time (a typo'd key, a wrong port, a dropped fallback, broken YAML, a key or
the control token not mounted, a token that is fixed, short or
world-readable, ...) and asserts the check meant to catch it fails on it.
Every mutation's `old` text must still be in the file, so this list stays in
step with the files it breaks.

Checks: check_deploy.py (consistency), `docker-compose config -q`, yamllint
(tests/deploy/yamllint.yml), `promtool check config`, `promtool test rules`
(the alerting rules' unit tests), check_keda.py (the KEDA queries evaluated
by promtool on the scaling cases), tools/prometheusrule.py --check (the
PrometheusRule is what rules.yml gives), and check_configs.sh
(real keys, the real binaries' --check-config) once the binaries are built.
A tool that is not installed is skipped with a note; if none of them can
run, exit 77.
Env: MDF_SOURCE_ROOT (required), MDF_BUILD_ROOT (optional).
"""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# (description, file, old, new, check that must fail)
MUTATIONS = [
    ("compose: YAML broken", "docker/docker-compose.yml",
     "  postgres:\n    image: timescale", " postgres:\n    image: timescale", "yamllint"),
    ("compose: unknown service key", "docker/docker-compose.yml",
     "    stop_grace_period: 45s", "    stop_grace_periods: 45s", "compose"),
    ("compose: depends_on without service_healthy", "docker/docker-compose.yml",
     "      store:\n        condition: service_healthy\n    healthcheck:\n      test: [\"CMD\", \"curl\", \"-fsS\", "
     "\"-o\", \"/dev/null\", \"http://127.0.0.1:9102/health/ready\"]",
     "      store:\n        condition: service_started\n    healthcheck:\n      test: [\"CMD\", \"curl\", \"-fsS\", "
     "\"-o\", \"/dev/null\", \"http://127.0.0.1:9102/health/ready\"]", "check"),
    ("compose: store healthy without its database", "docker/docker-compose.yml",
     "http://127.0.0.1:9101/health/ready", "http://127.0.0.1:9101/health/live", "check"),
    ("compose: store healthcheck on a wrong port", "docker/docker-compose.yml",
     "http://127.0.0.1:9101/health", "http://127.0.0.1:9111/health", "check"),
    ("compose: config mount of a missing file", "docker/docker-compose.yml",
     "./config/pipeline.toml:", "./config/pipelines.toml:", "check"),
    ("store.toml: typo'd key", "docker/config/store.toml",
     "capacity = 10000", "capcity = 10000", "check"),
    ("store.toml: conninfo to localhost", "docker/config/store.toml",
     "@postgres:5432", "@localhost:5432", "check"),
    ("store.toml: binds loopback only", "docker/config/store.toml",
     "tcp://0.0.0.0:5556", "tcp://127.0.0.1:5556", "check"),
    ("pipeline.toml: wrong store port", "docker/config/pipeline.toml",
     "discover_ingest_port = 5555", "discover_ingest_port = 5557", "check"),
    ("pipeline.toml: key the shipped configs may not set", "docker/config/pipeline.toml",
     "linger_ms = 5", "linger_ms = 5\nlinger_us = 5000", "check"),
    ("prometheus.yml: wrong scrape port", "docker/prometheus/prometheus.yml",
     "        port: 9101", "        port: 9111", "check"),
    ("prometheus.yml: wrong pipeline scrape port", "docker/prometheus/prometheus.yml",
     "pipeline:9102", "pipeline:9112", "check"),
    ("prometheus.yml: bad config", "docker/prometheus/prometheus.yml",
     "scrape_interval: 5s", "scrape_interval: fast", "promtool"),
    # Alerting rules (docker/prometheus/rules.yml) and their unit tests
    ("prometheus.yml: alerting rules not loaded", "docker/prometheus/prometheus.yml",
     "rule_files:\n  - rules.yml\n", "", "check"),
    ("compose: alerting rules not mounted", "docker/docker-compose.yml",
     "      - ./prometheus/rules.yml:/etc/prometheus/rules.yml:ro", "", "check"),
    ("compose: alerting rules mounted where the config does not look", "docker/docker-compose.yml",
     "./prometheus/rules.yml:/etc/prometheus/rules.yml:ro", "./prometheus/rules.yml:/etc/prometheus/rules/mdflow.yml:ro",
     "check"),
    ("rules: HARD alert fires at once", "docker/prometheus/rules.yml",
     "        expr: coordinator_backpressure_hard == 1\n        for: 1m\n",
     "        expr: coordinator_backpressure_hard == 1\n", "rules"),
    ("rules: retry alert counts ok acks", "docker/prometheus/rules.yml",
     "mds_batches_total{status=\"retry\"}", "mds_batches_total{status=~\"retry|ok\"}", "rules"),
    ("rules: breaker alert misses half-open", "docker/prometheus/rules.yml",
     "        expr: mds_sink_breaker_state > 0\n", "        expr: mds_sink_breaker_state == 1\n", "rules"),
    ("rules: paused alert on a metric nobody exports", "docker/prometheus/rules.yml",
     "        expr: mdp_paused == 1\n", "        expr: mdp_pipeline_paused == 1\n", "check"),
    ("rules: stale-feedback alert dropped", "docker/prometheus/rules.yml",
     "      - alert: MdflowPipelineFeedbackStale\n", "      - alert: MdflowPipelineFeedbackOld\n", "check"),
    ("rules: store-down alert fires at once", "docker/prometheus/rules.yml",
     "        expr: up{job=\"md-store\"} == 0\n        for: 30s\n", "        expr: up{job=\"md-store\"} == 0\n", "check"),
    ("rules: store-down alert on a job nobody scrapes", "docker/prometheus/rules.yml",
     "        expr: up{job=\"md-store\"} == 0\n", "        expr: up{job=\"store\"} == 0\n", "check"),
    ("rules: store-down alert waits too long", "docker/prometheus/rules.yml",
     "        expr: up{job=\"md-store\"} == 0\n        for: 30s\n", "        expr: up{job=\"md-store\"} == 0\n        for: 5m\n",
     "rules"),
    ("rules: no alert when every store is gone", "docker/prometheus/rules.yml",
     "      - alert: MdflowStoreGone\n", "      - alert: MdflowStoreMissing\n", "check"),
    ("rules: unmet demand alert fires while the pipeline is in failsafe", "docker/prometheus/rules.yml",
     "unless on (job, instance) (mdp_feedback_failsafe == 1 or mdp_paused == 1)",
     "unless on (job, instance) (mdp_paused == 1)", "rules"),
    ("rules: unmet demand alert on the highest provider's scale", "docker/prometheus/rules.yml",
     "(min by (job, instance) (avg_over_time(pipeline_rate_scale_factor[2m])) < 0.9)",
     "(max by (job, instance) (avg_over_time(pipeline_rate_scale_factor[2m])) < 0.9)", "rules"),
    ("rules: an alert without its runbook", "docker/prometheus/rules.yml",
     "          runbook: >-\n            If the pause is over,", "          comment: >-\n            If the pause is over,",
     "check"),
    ("rules: retry alert fires at once", "docker/prometheus/rules.yml",
     "(rate(mds_batches_total{status=\"retry\"}[2m])) > 0\n        for: 3m\n",
     "(rate(mds_batches_total{status=\"retry\"}[2m])) > 0\n", "check"),
    ("rules.yml changed, the PrometheusRule not regenerated", "docker/prometheus/rules.yml",
     "        for: 10m\n        labels:\n          severity: warning\n        annotations:\n"
     "          summary: \"pipeline {{ $labels.instance }} held back",
     "        for: 20m\n        labels:\n          severity: warning\n        annotations:\n"
     "          summary: \"pipeline {{ $labels.instance }} held back", "check"),
    ("PrometheusRule edited by hand", "deploy/k8s/optional/prometheusrule.yaml",
     "- alert: MdflowStoreGone\n", "- alert: MdflowStoreVanished\n", "prule"),
    ("ServiceMonitor without the release label", "deploy/k8s/optional/servicemonitor.yaml",
     "    release: kube-prometheus-stack\n", "", "check"),
    ("ServiceMonitor: the stores' job is not the one the alerts select", "deploy/k8s/optional/servicemonitor.yaml",
     "jobLabel: app.kubernetes.io/name", "jobLabel: app.kubernetes.io/part-of", "check"),
    ("KEDA: held-back without its margin (a steady 3x demand flaps between 3 and 4)",
     "deploy/k8s/keda-scaledobject.yaml", "(0.95 * count(coordinator_queue_capacity", "(count(coordinator_queue_capacity",
     "keda"),
    ("dashboard: unknown metric", "docker/grafana/dashboards/mdflow.json",
     "\"pipeline_rate_scale_factor\"", "\"pipeline_rate_scale\"", "check"),
    ("dashboard: high watermark as a constant line", "docker/grafana/dashboards/mdflow.json",
     "\"expr\": \"coordinator_queue_high_watermark{coordinator_id=~\\\"$coordinator\\\"}\"",
     "\"expr\": \"vector(8000)\"", "check"),
    ("dashboard: low watermark series dropped", "docker/grafana/dashboards/mdflow.json",
     "\"expr\": \"coordinator_queue_low_watermark{coordinator_id=~\\\"$coordinator\\\"}\"",
     "\"expr\": \"coordinator_queue_capacity{coordinator_id=~\\\"$coordinator\\\"}\"", "check"),
    ("dashboard: watermark drawn as a fixed threshold", "docker/grafana/dashboards/mdflow.json",
     "              \"mode\": \"off\"\n            },\n            \"fillOpacity\": 10,\n            \"lineWidth\": 2\n"
     "          },\n          \"mappings\": [],\n          \"thresholds\": {\n            \"mode\": \"absolute\",\n"
     "            \"steps\": [\n              {\n                \"color\": \"green\",\n                \"value\": null\n"
     "              }\n",
     "              \"mode\": \"line\"\n            },\n            \"fillOpacity\": 10,\n            \"lineWidth\": 2\n"
     "          },\n          \"mappings\": [],\n          \"thresholds\": {\n            \"mode\": \"absolute\",\n"
     "            \"steps\": [\n              {\n                \"color\": \"green\",\n                \"value\": null\n"
     "              },\n              {\n                \"color\": \"red\",\n                \"value\": 8000\n"
     "              }\n", "check"),
    ("dashboard: coordinator variable renamed", "docker/grafana/dashboards/mdflow.json",
     "\"name\": \"coordinator\"", "\"name\": \"store\"", "check"),
    ("dashboard: subscribers panel ignores the coordinator variable", "docker/grafana/dashboards/mdflow.json",
     "\"expr\": \"mds_feedback_subscribers{coordinator_id=~\\\"$coordinator\\\"}\"",
     "\"expr\": \"mds_feedback_subscribers\"", "check"),
    ("dashboard: sink breaker not shown", "docker/grafana/dashboards/mdflow.json",
     "mds_sink_breaker_state * on", "mds_sink_errors_total * on", "check"),
    ("Dockerfile: runs as root", "docker/Dockerfile",
     "USER 10001:10001\n# 9102", "USER root\n# 9102", "check"),
    ("Dockerfile: runtime stage keeps apt's package lists", "docker/Dockerfile",
     " && apt-get clean \\\n && rm -rf /var/cache/apt/*.bin /var/lib/apt/lists/* \\\n && groupadd",
     " && groupadd", "check"),
    ("Dockerfile: build stage relies on docker-clean", "docker/Dockerfile",
     " && apt-get clean \\\n && rm -rf /var/cache/apt/*.bin /var/lib/apt/lists/*\n\nWORKDIR /src",
     "\n\nWORKDIR /src", "check"),
    ("Dockerfile: HEALTHCHECK dropped", "docker/Dockerfile",
     "HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \\\n"
     "  CMD [\"curl\", \"-fsS\", \"-o\", \"/dev/null\", \"http://127.0.0.1:9101/health/ready\"]\n", "", "check"),
    ("ConfigMap: key the shipped configs may not set", "deploy/k8s/configmap.yaml",
     "    hysteresis = 200", "    hysteresis = 200\n    hysteresis_ms = 200", "check"),
    ("ConfigMap: invalid TOML", "deploy/k8s/configmap.yaml",
     "    policy = \"share\"", "    policy = share", "check"),
    ("k8s: YAML duplicate key", "deploy/k8s/store.yaml",
     "  replicas: 1 ", "  replicas: 1\n  replicas: 2 ", "yamllint"),
    ("k8s: Service without metadata.name", "deploy/k8s/pipeline.yaml",
     "kind: Service\nmetadata:\n  name: md-pipeline\n", "kind: Service\nmetadata:\n", "check"),
    ("k8s: the journal on the pod's own filesystem", "deploy/k8s/pipeline.yaml",
     "              mountPath: /var/lib/mdflow/data\n", "              mountPath: /var/lib/mdflow/other\n", "check"),
    ("k8s: the pipeline as a Deployment (its journal dies with the pod)", "deploy/k8s/pipeline.yaml",
     "kind: StatefulSet\nmetadata:\n  name: md-pipeline\n", "kind: Deployment\nmetadata:\n  name: md-pipeline\n", "check"),
    ("compose: the journal not on a volume", "docker/docker-compose.yml",
     "      - pipeline-journal:/var/lib/mdflow/data\n", "", "check"),
    ("k8s: namespace hard-coded", "deploy/k8s/pipeline.yaml",
     "kind: StatefulSet\nmetadata:\n  name: md-pipeline\n",
     "kind: StatefulSet\nmetadata:\n  name: md-pipeline\n  namespace: prod\n", "check"),
    ("k8s: store readiness ignores the sink", "deploy/k8s/store.yaml",
     "              path: /health/ready", "              path: /health/live", "check"),
    ("k8s: store restarted when its sink is down", "deploy/k8s/store.yaml",
     "              path: /health/live", "              path: /health/ready", "check"),
    ("k8s: headless Service not headless", "deploy/k8s/store.yaml",
     "  clusterIP: None", "  clusterIP: \"\"", "check"),
    ("k8s: Service targets an unknown port", "deploy/k8s/store.yaml",
     "      port: 9101\n      targetPort: http", "      port: 9101\n      targetPort: metrics", "check"),
    ("k8s: containerPort differs from the config", "deploy/k8s/store.yaml",
     "containerPort: 9101", "containerPort: 9100", "check"),
    ("KEDA: targets another Deployment", "deploy/k8s/keda-scaledobject.yaml",
     "    name: md-store\n  pollingInterval", "    name: md-stores\n  pollingInterval", "check"),
    ("KEDA: fallback dropped", "deploy/k8s/keda-scaledobject.yaml",
     "  fallback:\n    failureThreshold: 3\n    replicas: 2\n", "", "check"),
    ("KEDA: the pipelines' scale under a name nobody exports", "deploy/k8s/keda-scaledobject.yaml",
     "clamp_min(min(avg_over_time(pipeline_rate_scale_factor[1m]", "clamp_min(min(avg_over_time(pipeline_scale[1m]",
     "check"),
    ("KEDA: Value metric type (no fallback)", "deploy/k8s/keda-scaledobject.yaml",
     "      name: held-back\n      metricType: AverageValue", "      name: held-back\n      metricType: Value",
     "check"),
    ("KEDA: no scaleDown stabilization", "deploy/k8s/keda-scaledobject.yaml",
     "          stabilizationWindowSeconds: 300\n", "", "check"),
    # The stores come and go: the pipeline follows them by DNS (k8s: the
    # headless Service of ready pods; compose: the service name), KEDA scales
    # the store workload on what the stores cannot take
    ("ConfigMap: pipeline discovers the ClusterIP Service (one virtual IP, one store)", "deploy/k8s/configmap.yaml",
     "    discover = \"md-store-headless\"", "    discover = \"md-store\"", "check"),
    ("ConfigMap: a fixed list of stores instead of discover", "deploy/k8s/configmap.yaml",
     "    discover = \"md-store-headless\"\n",
     "    ingest = [\"tcp://md-store-headless:5555\"]\n    feedback = [\"tcp://md-store-headless:5556\"]\n", "check"),
    ("ConfigMap: discover and a fixed list both set (the pipeline refuses)", "deploy/k8s/configmap.yaml",
     "    discover = \"md-store-headless\"\n",
     "    discover = \"md-store-headless\"\n    ingest = [\"tcp://md-store-headless:5555\"]\n", "configs"),
    ("ConfigMap: discovered feedback port is not the store's", "deploy/k8s/configmap.yaml",
     "    discover_feedback_port = 5556", "    discover_feedback_port = 5557", "check"),
    ("k8s: pipeline started by a shell script again", "deploy/k8s/pipeline.yaml",
     "          command: [\"/usr/local/bin/md-pipeline\", \"--config\", \"/etc/mdflow/pipeline.toml\"]",
     "          command: [\"/bin/sh\", \"-c\"]\n"
     "          args: [\"exec /usr/local/bin/md-pipeline --config /etc/mdflow/pipeline.toml\"]", "check"),
    ("k8s: discover name overridden in the pipeline's environment", "deploy/k8s/pipeline.yaml",
     "          env:\n            - name: MDP_PIPELINE_ID\n",
     "          env:\n            - name: MDP_STORE_DISCOVER\n              value: md-store\n"
     "            - name: MDP_PIPELINE_ID\n", "check"),
    ("k8s: headless Service lists not-ready stores (draining ones still get batches)", "deploy/k8s/store.yaml",
     "  publishNotReadyAddresses: false", "  publishNotReadyAddresses: true", "check"),
    ("k8s: store rollout drains an old store before the new one is ready", "deploy/k8s/store.yaml",
     "      maxUnavailable: 0", "      maxUnavailable: 1", "check"),
    ("KEDA: scales a StatefulSet, not the store Deployment", "deploy/k8s/keda-scaledobject.yaml",
     "    kind: Deployment\n    name: md-store", "    kind: StatefulSet\n    name: md-store", "check"),
    ("KEDA: busy trigger on queue depth instead of the sinks' busy fraction", "deploy/k8s/keda-scaledobject.yaml",
     "sum(clamp_max(avg_over_time(mds_sink_drain_rate[1m])\n          / (avg_over_time(mds_sink_service_rate[1m]) > 0), 1)",
     "sum(clamp_max(avg_over_time(coordinator_queue_depth{coordinator_id=~\"md-store-.*\"}[1m])\n          / 5000, 1)",
     "check"),
    ("KEDA: busy counts every deployment's stores", "deploy/k8s/keda-scaledobject.yaml",
     "          (coordinator_queue_capacity{coordinator_id=~\"md-store-.*\"}))\n          unless",
     "          (coordinator_queue_capacity))\n          unless", "check"),
    ("KEDA: busy divides by a service rate of 0 (a store whose database is down)", "deploy/k8s/keda-scaledobject.yaml",
     "/ (avg_over_time(mds_sink_service_rate[1m]) > 0), 1)", "/ avg_over_time(mds_sink_service_rate[1m]), 1)",
     "keda"),
    ("KEDA: held-back asks for stores while the pipelines run at full rate", "deploy/k8s/keda-scaledobject.yaml",
     "          and on () (min(avg_over_time(pipeline_rate_scale_factor[1m])) < 0.9)\n", "", "keda"),
    ("KEDA: held-back scales out while the database is down", "deploy/k8s/keda-scaledobject.yaml",
     "          unless on () (min(max_over_time(mds_sink_breaker_state[1m])\n"
     "          * on (instance) group_left () group by (instance)\n"
     "          (coordinator_queue_capacity{coordinator_id=~\"md-store-.*\"})) > 0)\n        threshold: \"1\"",
     "        threshold: \"1\"", "keda"),
    ("KEDA: busy scales the stores in while the database is down", "deploy/k8s/keda-scaledobject.yaml",
     "          or on () (0.7 * count(", "          and on () (0.7 * count(", "keda"),
    ("KEDA: busy threshold changed without its hold factor", "deploy/k8s/keda-scaledobject.yaml",
     "        threshold: \"0.7\"", "        threshold: \"0.5\"", "keda"),
    ("KEDA: held-back floor dropped (one step asks for up to 1/scale stores)", "deploy/k8s/keda-scaledobject.yaml",
     "clamp_min(min(avg_over_time(pipeline_rate_scale_factor[1m])), 0.25)",
     "min(avg_over_time(pipeline_rate_scale_factor[1m]))", "keda"),
    ("pipeline.toml: back to a fixed store list (replicas beyond one never used)", "docker/config/pipeline.toml",
     "discover = \"store\"                  # the compose service: every replica\n",
     "ingest = [\"tcp://store:5555\"]\nfeedback = [\"tcp://store:5556\"]\n", "check"),
    ("pipeline.toml: discovers a name that is not the store service", "docker/config/pipeline.toml",
     "discover = \"store\" ", "discover = \"stores\" ", "check"),
    ("compose: store on a fixed host port (a second replica cannot start)", "docker/docker-compose.yml",
     "\"127.0.0.1::9101\"", "\"127.0.0.1:9101:9101\"", "check"),
    ("compose: every store replica has the same store.id", "docker/docker-compose.yml",
     "    entrypoint:\n      - /bin/sh\n      - -c\n"
     "      - 'MDS_STORE_ID=\"store-$${HOSTNAME:?}\"; export MDS_STORE_ID; exec md-store \"$$@\"'\n"
     "      - md-store\n", "", "check"),
    ("compose: store.id fixed in the store's environment", "docker/docker-compose.yml",
     "      MDS_LOG_LEVEL: info\n", "      MDS_LOG_LEVEL: info\n      MDS_STORE_ID: store-1\n", "check"),
    ("compose: the store's entrypoint does not exec md-store (SIGTERM stops the shell)", "docker/docker-compose.yml",
     "export MDS_STORE_ID; exec md-store", "export MDS_STORE_ID; md-store", "check"),
    ("compose: container_name on the store (no --scale)", "docker/docker-compose.yml",
     "    image: mdflow/md-store:0.1.0\n    # One store.id",
     "    image: mdflow/md-store:0.1.0\n    container_name: mdflow-store\n    # One store.id", "check"),
    ("prometheus.yml: one static target for every store replica", "docker/prometheus/prometheus.yml",
     "    dns_sd_configs:\n      - names: [\"store\"]\n        type: A\n        port: 9101\n        refresh_interval: 5s\n",
     "    static_configs:\n      - targets: [\"store:9101\"]\n", "check"),
    ("prometheus.yml: store discovery by SRV records (the default type), which compose has not",
     "docker/prometheus/prometheus.yml", "        type: A\n", "", "check"),
    ("k8s: trailing spaces", "deploy/k8s/configmap.yaml",
     "  name: md-store-config\n", "  name: md-store-config   \n", "yamllint"),
    # Grace periods outlast the drain timeouts (SIGKILL must not race the drain)
    ("compose: store grace period equal to its drain timeout", "docker/docker-compose.yml",
     "    stop_grace_period: 45s", "    stop_grace_period: 30s", "check"),
    ("compose: pipeline grace period without a margin", "docker/docker-compose.yml",
     "    stop_grace_period: 20s", "    stop_grace_period: 15s", "check"),
    ("compose: store grace period dropped (compose's 10 s default)", "docker/docker-compose.yml",
     "    stop_grace_period: 45s\n", "", "check"),
    ("store.toml: drain timeout raised past the grace period", "docker/config/store.toml",
     "drain_timeout_ms = 30000", "drain_timeout_ms = 40000", "check"),
    ("compose: drain timeout raised by the store's environment", "docker/docker-compose.yml",
     "      MDS_LOG_LEVEL: info\n", "      MDS_LOG_LEVEL: info\n      MDS_STORE_DRAIN_TIMEOUT_MS: \"60000\"\n",
     "check"),
    ("pipeline.toml: drain timeout raised past the grace period", "docker/config/pipeline.toml",
     "drain_timeout_ms = 5000", "drain_timeout_ms = 10000", "check"),
    ("k8s: store grace period shorter than the drain", "deploy/k8s/store.yaml",
     "      terminationGracePeriodSeconds: 60", "      terminationGracePeriodSeconds: 35", "check"),
    ("ConfigMap: store drain timeout past the pod's grace period", "deploy/k8s/configmap.yaml",
     "    drain_timeout_ms = 30000", "    drain_timeout_ms = 55000", "check"),
    ("ConfigMap: pipeline drain timeout past the pod's grace period", "deploy/k8s/configmap.yaml",
     "    drain_timeout_ms = 5000", "    drain_timeout_ms = 25000", "check"),
    # CurveZMQ keys
    ("store.toml: curve off", "docker/config/store.toml",
     "[security]\ncurve = true", "[security]\ncurve = false", "check"),
    ("compose: curve turned off by the pipeline's environment", "docker/docker-compose.yml",
     "      MDP_LOG_LEVEL: info\n", "      MDP_LOG_LEVEL: info\n      MDP_SECURITY_CURVE: \"false\"\n", "check"),
    ("compose: the store's key volume not mounted", "docker/docker-compose.yml",
     "      - store-key:/run/secrets/mdflow/store:ro\n", "", "check"),
    ("compose: authorized keys mounted at another path", "docker/docker-compose.yml",
     "      - authorized-keys:/run/secrets/mdflow/authorized:ro\n",
     "      - authorized-keys:/run/secrets/mdflow/clients:ro\n", "check"),
    ("compose: key volume mounted writable", "docker/docker-compose.yml",
     "pipeline-key:/run/secrets/mdflow/pipeline:ro", "pipeline-key:/run/secrets/mdflow/pipeline", "check"),
    ("compose: store starts before its keys exist", "docker/docker-compose.yml",
     "    depends_on:\n      keys:\n        condition: service_completed_successfully\n      postgres:",
     "    depends_on:\n      postgres:", "check"),
    ("compose: keys service does not admit the pipeline", "docker/docker-compose.yml",
     "        cp pipeline/pipeline.key authorized/pipeline.key\n",
     "        cp store/store.key authorized/pipeline.key\n", "configs"),
    ("compose: keys service gives the pipeline its own key as the store's", "docker/docker-compose.yml",
     "        cp store/store.key pipeline/store.key\n", "        cp pipeline/pipeline.key pipeline/store.key\n",
     "configs"),
    ("compose: keys service makes a new store key on every up", "docker/docker-compose.yml",
     "        if [ ! -s store/store.key_secret ]; then\n          rm -f store/store.key\n",
     "        if true; then\n          rm -f store/store.key store/store.key_secret\n", "configs"),
    ("pipeline.toml: store key file name typo", "docker/config/pipeline.toml",
     "/run/secrets/mdflow/pipeline/store.key\"", "/run/secrets/mdflow/pipeline/stor.key\"", "configs"),
    ("Dockerfile: mdctl not shipped (keys service cannot run)", "docker/Dockerfile",
     "COPY --from=build /out/mdctl /usr/local/bin/mdctl\n", "", "check"),
    ("ConfigMap: pipeline curve off", "deploy/k8s/configmap.yaml",
     "    [security]\n    curve = true\n    # Secret mdflow-pipeline-key",
     "    [security]\n    curve = false\n    # Secret mdflow-pipeline-key", "check"),
    ("k8s: store key Secret mounted at another path", "deploy/k8s/store.yaml",
     "              mountPath: /run/secrets/mdflow/store\n", "              mountPath: /run/secrets/mdflow/keys\n",
     "check"),
    ("k8s: store secret key world-readable", "deploy/k8s/store.yaml",
     "            secretName: mdflow-store-key\n            defaultMode: 0440",
     "            secretName: mdflow-store-key\n            defaultMode: 0444", "check"),
    ("k8s: pipeline pod without fsGroup (0440 key unreadable)", "deploy/k8s/pipeline.yaml",
     "        fsGroup: 10001", "        supplementalGroups: [10001]", "check"),
    ("k8s: Secret the README does not make", "deploy/k8s/pipeline.yaml",
     "name: mdflow-pipeline-key\n", "name: mdflow-pipeline-keys\n", "check"),
    ("README keys block: the pipeline's Secret also holds the store's secret key", "deploy/README.md",
     "  --from-file=pipeline.key_secret --from-file=store.key\n",
     "  --from-file=pipeline.key_secret --from-file=store.key --from-file=store.key_secret\n", "check"),
    ("README keys block: the pipeline gets its own public key as the store's", "deploy/README.md",
     "  --from-file=pipeline.key_secret --from-file=store.key\n",
     "  --from-file=pipeline.key_secret --from-file=store.key=pipeline.key\n", "configs"),
    # The pipeline's control token ([http] control_token_file, bearer for POST /control/*)
    ("pipeline.toml: control token off", "docker/config/pipeline.toml",
     "control_token_file = \"/run/secrets/mdflow/pipeline/control.token\"", "", "check"),
    ("pipeline.toml: literal control token", "docker/config/pipeline.toml",
     "control_token_file = \"/run/secrets/mdflow/pipeline/control.token\"",
     "control_token = \"0123456789abcdef0123456789abcdef0123456789abcdef\"", "check"),
    ("pipeline.toml: token file outside the mounted volume", "docker/config/pipeline.toml",
     "/run/secrets/mdflow/pipeline/control.token\"", "/run/secrets/mdflow/control.token\"", "check"),
    ("pipeline.toml: token file name typo", "docker/config/pipeline.toml",
     "/run/secrets/mdflow/pipeline/control.token\"", "/run/secrets/mdflow/pipeline/control-token\"", "configs"),
    ("compose: control token turned off by the pipeline's environment", "docker/docker-compose.yml",
     "      MDP_LOG_LEVEL: info\n", "      MDP_LOG_LEVEL: info\n      MDP_HTTP_CONTROL_TOKEN_FILE: \"\"\n", "check"),
    ("compose: literal token in the pipeline's environment", "docker/docker-compose.yml",
     "      MDP_LOG_LEVEL: info\n",
     "      MDP_LOG_LEVEL: info\n      MDP_HTTP_CONTROL_TOKEN_FILE: \"\"\n"
     "      MDP_HTTP_CONTROL_TOKEN: 0123456789abcdef0123456789abcdef0123456789abcdef\n", "check"),
    ("compose: the pipeline's key and token volume not mounted", "docker/docker-compose.yml",
     "      - pipeline-key:/run/secrets/mdflow/pipeline:ro\n", "", "check"),
    ("compose: keys service does not make the token", "docker/docker-compose.yml",
     "        if [ ! -s pipeline/control.token ]; then\n"
     "          head -c 32 /dev/urandom | base64 > pipeline/control.token.new\n"
     "          mv pipeline/control.token.new pipeline/control.token\n        fi\n", "", "check"),
    ("compose: keys service makes a short token", "docker/docker-compose.yml",
     "head -c 32 /dev/urandom | base64 > pipeline", "head -c 8 /dev/urandom | base64 > pipeline", "configs"),
    ("compose: keys service makes a new token on every up", "docker/docker-compose.yml",
     "        if [ ! -s pipeline/control.token ]; then\n", "        if true; then\n", "configs"),
    ("compose: control token world-readable", "docker/docker-compose.yml",
     "        chmod 0400 pipeline/control.token\n", "        chmod 0444 pipeline/control.token\n", "configs"),
    ("ConfigMap: pipeline without a control token", "deploy/k8s/configmap.yaml",
     "    control_token_file = \"/run/secrets/mdflow/pipeline/control.token\"\n", "", "check"),
    ("k8s: token Secret left out of the pipeline's volume", "deploy/k8s/pipeline.yaml",
     "              - secret:\n                  name: mdflow-control-token\n", "", "check"),
    ("k8s: token Secret optional", "deploy/k8s/pipeline.yaml",
     "                  name: mdflow-control-token\n",
     "                  name: mdflow-control-token\n                  optional: true\n", "check"),
    ("k8s: pipeline's key and token world-readable", "deploy/k8s/pipeline.yaml",
     "            defaultMode: 0440", "            defaultMode: 0444", "check"),
    ("README keys block: token Secret not created", "deploy/README.md",
     "kubectl -n mdflow create secret generic mdflow-control-token --from-file=control.token\n", "", "check"),
    ("README keys block: token under another key in its Secret", "deploy/README.md",
     "create secret generic mdflow-control-token --from-file=control.token\n",
     "create secret generic mdflow-control-token --from-file=token=control.token\n", "check"),
    ("README keys block: a short token", "deploy/README.md",
     "head -c 32 /dev/urandom | base64 > control.token    #", "head -c 8 /dev/urandom | base64 > control.token    #",
     "configs"),
    ("README keys block: a fixed token", "deploy/README.md",
     "head -c 32 /dev/urandom | base64 > control.token    #",
     "echo mdflow-control-token-for-pausing-the-pipeline > control.token    #", "configs"),
]


def runners(root):
    env = dict(os.environ, MDF_SOURCE_ROOT=root)
    env.pop("MDF_BUILD_ROOT", None)
    cmds = {"check": [sys.executable, os.path.join(HERE, "check_deploy.py")]}
    if shutil.which("docker-compose"):
        cmds["compose"] = ["docker-compose", "-f", os.path.join(root, "docker", "docker-compose.yml"), "config", "-q"]
    if shutil.which("yamllint"):
        cmds["yamllint"] = ["yamllint", "-s", "-c", os.path.join(HERE, "yamllint.yml"),
                            os.path.join(root, "deploy", "k8s"), os.path.join(root, "docker")]
    if shutil.which("promtool"):
        cmds["promtool"] = ["promtool", "check", "config", os.path.join(root, "docker", "prometheus", "prometheus.yml")]
        cmds["rules"] = ["promtool", "test", "rules", os.path.join(root, "docker", "prometheus", "rules_test.yml")]
        cmds["keda"] = [sys.executable, os.path.join(HERE, "check_keda.py")]
    # the generator of the tree under test, run on the copy (MDF_SOURCE_ROOT=root)
    cmds["prule"] = [sys.executable, os.path.join(HERE, "..", "..", "tools", "prometheusrule.py"), "--check"]

    build = os.environ.get("MDF_BUILD_ROOT", "")
    if all(os.access(os.path.join(build, b), os.X_OK)
           for b in ("store/md-store", "pipeline/md-pipeline", "tools/mdctl")) and build:
        cmds["configs"] = ["bash", os.path.join(HERE, "check_configs.sh"), sys.executable,
                           os.path.join(HERE, "check_deploy.py")]
    envs = {"configs": dict(env, MDF_BUILD_ROOT=build)}

    def run(name):
        r = subprocess.run(cmds[name], env=envs.get(name, env), capture_output=True, text=True, timeout=60)
        return r.returncode, (r.stdout + r.stderr).strip()
    return cmds, run


def main():
    src = os.environ.get("MDF_SOURCE_ROOT")
    if not src:
        print("MDF_SOURCE_ROOT is not set")
        return 2
    failures = 0
    with tempfile.TemporaryDirectory() as root:
        for d in ("docker", "deploy"):
            shutil.copytree(os.path.join(src, d), os.path.join(root, d))
        # The documentation check_deploy.py reads the documented keys and
        # metrics from.
        for f in ("README.md", "store/README.md", "pipeline/README.md"):
            os.makedirs(os.path.dirname(os.path.join(root, f)), exist_ok=True)
            shutil.copyfile(os.path.join(src, f), os.path.join(root, f))
        cmds, run = runners(root)
        for tool in ("compose", "yamllint", "promtool", "rules", "keda", "prule", "configs"):
            if tool not in cmds:
                print(f"note: {tool} not installed (configs: binaries not built), its mutations are skipped")
        for name in cmds:
            rc, out = run(name)
            if rc != 0:
                print(f"FAIL: the untouched files fail {name}:\n{out}")
                return 1
        tested = 0
        for desc, rel, old, new, tool in MUTATIONS:
            path = os.path.join(root, rel)
            text = open(path, encoding="utf-8").read()
            if text.count(old) != 1:
                print(f"FAIL: mutation '{desc}': text to change found {text.count(old)} times in {rel}")
                failures += 1
                continue
            if tool not in cmds:
                continue
            open(path, "w", encoding="utf-8").write(text.replace(old, new))
            try:
                rc, out = run(tool)
            finally:
                open(path, "w", encoding="utf-8").write(text)
            tested += 1
            first = out.splitlines()[0] if out else ""
            if rc == 0:
                print(f"FAIL: {tool} accepts: {desc}")
                failures += 1
            else:
                print(f"ok   {tool} rejects: {desc}  ({first[:110]})")
        if tested == 0:
            print("SKIP: no check could run")
            return 77
    print(f"{tested} mutations, {failures} not caught")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
