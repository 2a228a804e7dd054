"""infra/k8s: every overlay rendered with `kubectl kustomize` (sample secret files written into a copy of the tree,
as an operator would) and every manifest checked for what the layout promises: pinned images, probes and resource
limits on every container, non-root, GPUs only where a GPU engine runs, secrets only from the generated Secret,
telemetry off, all egress denied but to the in-cluster services, a disruption budget for every workload.

kubectl (1.27 or newer: kustomize v5) is not in Debian (its kubernetes-client is 1.20, with kustomize v2, which
cannot read these files): these tests fail, saying how to install it, where it is missing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"
OVERLAYS = ("gpu", "gpu-large", "cpu")
SECRET_FILES = ("qdrant-api-key", "llm-api-key", "database-url")
WORKLOADS = ("Deployment", "StatefulSet")
# Environment variables that hold a secret, by name.
SECRET_NAME = re.compile(r"(^|_)(PASSWORD|API_KEY|SECRET|TOKEN)($|_)|DATABASE_URL")
INSTALL_KUBECTL = (
    "kubectl 1.27 or newer is needed to render infra/k8s (`kubectl kustomize`). Debian's kubernetes-client is too "
    "old; install the official binary: https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/ "
    "(curl -LO https://dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubectl && install kubectl /usr/local/bin/)"
)


@pytest.fixture(scope="session")
def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail(f"kubectl not found. {INSTALL_KUBECTL}", pytrace=False)
    version = json.loads(subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True,
                                        check=True).stdout)  # fmt: skip
    kustomize = version.get("kustomizeVersion", "")
    if not re.match(r"v([5-9]|\d\d)\.", kustomize):
        pytest.fail(f"kubectl's kustomize is {kustomize or 'missing'}, v5 is needed. {INSTALL_KUBECTL}", pytrace=False)
    return path


@pytest.fixture(scope="module")
def operator_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of infra/k8s with the secret files an operator writes (sample values)."""
    tree = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns(*SECRET_FILES))
    for name in SECRET_FILES:
        (tree / "base" / "secrets" / name).write_text(f"sample-{name}")
    return tree


def render(kubectl: str, overlay: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([kubectl, "kustomize", str(overlay)], check=False, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module", params=OVERLAYS)
def manifests(request: pytest.FixtureRequest, kubectl: str, operator_tree: Path) -> list[dict[str, Any]]:
    rendered = render(kubectl, operator_tree / "overlays" / request.param)
    assert rendered.returncode == 0, rendered.stderr
    return [document for document in yaml.safe_load_all(rendered.stdout) if document]


def of_kind(manifests: list[dict[str, Any]], *kinds: str) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] in kinds]


def named(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def containers(manifests: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(workload name, pod spec, container) for every container, init containers too."""
    for workload in of_kind(manifests, *WORKLOADS):
        pod = workload["spec"]["template"]["spec"]
        for container in pod.get("initContainers", []) + pod["containers"]:
            yield workload["metadata"]["name"], pod, container


def engine(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [
        w for w in of_kind(manifests, "Deployment")
        if w["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "llm"
    ]  # fmt: skip
    return found


# -- rendering --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_an_overlay_does_not_render_while_a_secret_file_is_missing(kubectl, tmp_path, overlay):
    tree = tmp_path / "k8s"
    shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns(*SECRET_FILES))
    for name in SECRET_FILES[:-1]:
        (tree / "base" / "secrets" / name).write_text("sample")
    rendered = render(kubectl, tree / "overlays" / overlay)
    assert rendered.returncode != 0
    assert "database-url" in rendered.stderr


def test_no_secret_file_is_committed():
    committed = subprocess.run(["git", "ls-files", "infra/k8s"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert not set(SECRET_FILES) & {Path(path).name for path in committed.stdout.split()}


def test_everything_lives_in_the_enclave_namespace(manifests):
    for manifest in manifests:
        if manifest["kind"] != "Namespace":
            assert manifest["metadata"].get("namespace") == "enclave", f"{manifest['kind']} {manifest['metadata']}"


# -- containers -------------------------------------------------------------------------------------------------


def test_every_image_is_pinned_to_a_version(manifests):
    for workload, _, container in containers(manifests):
        image = container["image"]
        assert re.fullmatch(r"[\w./-]+:[\w.-]+(@sha256:[0-9a-f]{64})?|[\w./-]+@sha256:[0-9a-f]{64}", image), (
            f"{workload}: image {image!r} has no tag"
        )
        assert not image.split("@")[0].endswith(":latest"), f"{workload}: image {image!r} floats on latest"
        assert container.get("imagePullPolicy", "IfNotPresent") != "Always"


def test_every_container_has_liveness_and_readiness_probes(manifests):
    for workload, _, container in containers(manifests):
        for probe in ("livenessProbe", "readinessProbe"):
            assert container.get(probe), f"{workload}/{container['name']} has no {probe}"


def test_the_app_is_ready_on_readyz_alive_on_healthz_and_scaled_by_an_autoscaler(manifests):
    (container,) = named(manifests, "Deployment", "app")["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    autoscaler = named(manifests, "HorizontalPodAutoscaler", "app")
    assert autoscaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"}
    assert 2 <= autoscaler["spec"]["minReplicas"] < autoscaler["spec"]["maxReplicas"]


def test_every_container_has_requests_and_limits(manifests):
    for workload, _, container in containers(manifests):
        resources = container.get("resources", {})
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(kind, {})), f"{workload}: no cpu/memory {kind}"


def test_every_container_runs_as_a_user_without_privileges(manifests):
    for workload, pod, container in containers(manifests):
        pod_context, context = pod.get("securityContext", {}), container.get("securityContext", {})
        assert context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is True, workload
        assert context.get("runAsUser", pod_context.get("runAsUser", 0)) != 0, workload
        assert context.get("allowPrivilegeEscalation") is False, workload
        assert context.get("capabilities", {}).get("drop") == ["ALL"], workload
        assert pod_context.get("seccompProfile", {}).get("type") == "RuntimeDefault", workload
        assert pod.get("automountServiceAccountToken") is False, workload


def test_root_file_systems_are_read_only_but_for_vllm(manifests):
    # vLLM compiles kernels and writes caches beside its libraries at start: not checked read-only (gpu/vllm.yaml).
    for workload, _, container in containers(manifests):
        expected = workload != "vllm"
        assert container["securityContext"].get("readOnlyRootFilesystem") is expected, workload


# -- GPUs -------------------------------------------------------------------------------------------------------


def test_gpus_are_requested_by_the_vllm_engine_only(manifests):
    llm = engine(manifests)
    for workload, _, container in containers(manifests):
        gpus = {kind: container["resources"][kind].get("nvidia.com/gpu") for kind in ("requests", "limits")}
        if llm["metadata"]["name"] == "vllm" and workload == "vllm":
            assert gpus == {"requests": 1, "limits": 1}  # one GPU per replica
            assert llm["spec"]["replicas"] >= 2
        else:
            assert gpus == {"requests": None, "limits": None}, f"{workload} asks for a GPU"


def test_the_llm_service_fronts_the_overlays_engine_and_the_app_calls_it(manifests):
    service = named(manifests, "Service", "llm")
    labels = engine(manifests)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert named(manifests, "ConfigMap", "enclave-config")["data"]["ENCLAVE_LLM_BASE_URL"] == "http://llm:8000/v1"
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"


def test_the_engine_serves_the_model_the_app_asks_for(manifests):
    asked = named(manifests, "ConfigMap", "enclave-config")["data"]["ENCLAVE_LLM_MODEL"]
    args = engine(manifests)["spec"]["template"]["spec"]["containers"][0]["args"]
    flag = "--alias" if "--alias" in args else "--served-model-name"
    assert args[args.index(flag) + 1] == asked


# -- secrets and telemetry --------------------------------------------------------------------------------------


def test_secrets_reach_containers_only_from_the_generated_secret(manifests):
    (secret,) = of_kind(manifests, "Secret")
    assert secret["metadata"]["name"].startswith("enclave-secrets-")  # the generator's hash: pods roll on a change
    for workload, _, container in containers(manifests):
        for variable in container.get("env", []):
            if SECRET_NAME.search(variable["name"]):
                assert "value" not in variable, f"{workload}: {variable['name']} is written in the manifest"
                assert variable["valueFrom"]["secretKeyRef"]["name"] == secret["metadata"]["name"]
    for config in of_kind(manifests, "ConfigMap"):
        assert not [key for key in config["data"] if SECRET_NAME.search(key)], config["metadata"]["name"]


def environment(manifests: list[dict[str, Any]], workload: str) -> dict[str, str]:
    """A workload's first container's literal environment, its ConfigMaps included."""
    (container, *_) = [c for name, _, c in containers(manifests) if name == workload]
    values = {}
    for source in container.get("envFrom", []):
        values.update(named(manifests, "ConfigMap", source["configMapRef"]["name"])["data"])
    values.update({v["name"]: v["value"] for v in container.get("env", []) if "value" in v})
    return values


def test_telemetry_is_off_and_everything_runs_offline(manifests):
    assert environment(manifests, "qdrant")["QDRANT__TELEMETRY_DISABLED"] == "true"
    for workload in ("app", "api", "worker"):
        values = environment(manifests, workload)
        assert values["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
        assert values["HF_HUB_OFFLINE"] == "1" and values["DO_NOT_TRACK"] == "1"
    values = environment(manifests, engine(manifests)["metadata"]["name"])
    assert values["HF_HUB_OFFLINE"] == "1" and values["DO_NOT_TRACK"] == "1"
    if engine(manifests)["metadata"]["name"] == "vllm":
        assert values["VLLM_NO_USAGE_STATS"] == "1"
        assert values["TIKTOKEN_ENCODINGS_BASE"] == "/models/tiktoken"


def test_uploads_are_queued_for_at_least_two_workers_probed_on_their_pod_address(manifests):
    worker = named(manifests, "Deployment", "worker")
    assert worker["spec"]["replicas"] >= 2
    for workload in ("app", "api", "worker"):
        assert environment(manifests, workload)["ENCLAVE_INGEST_QUEUE"] == "postgres"
    values = environment(manifests, "worker")
    assert values["ENCLAVE_WORKER_HEALTH_HOST"] == "0.0.0.0" and values["ENCLAVE_WORKER_HEALTH_PORT"] == "8002"
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 300  # a batch may end first


# -- Qdrant -----------------------------------------------------------------------------------------------------


def test_qdrant_runs_as_a_cluster_with_every_shard_on_two_peers(manifests):
    qdrant = named(manifests, "StatefulSet", "qdrant")
    assert qdrant["spec"]["replicas"] >= 3 and qdrant["spec"]["podManagementPolicy"] == "Parallel"
    values = environment(manifests, "qdrant")
    assert values["QDRANT__CLUSTER__ENABLED"] == "true"
    assert int(values["QDRANT__STORAGE__COLLECTION__REPLICATION_FACTOR"]) >= 2
    assert int(values["QDRANT__STORAGE__COLLECTION__SHARD_NUMBER"]) >= qdrant["spec"]["replicas"]
    headless = named(manifests, "Service", qdrant["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True


# -- network ----------------------------------------------------------------------------------------------------


def test_all_traffic_is_denied_unless_a_policy_allows_it(manifests):
    deny = named(manifests, "NetworkPolicy", "default-deny-all")["spec"]
    assert deny["podSelector"] == {} and sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in deny and "egress" not in deny


def test_egress_goes_only_to_pods_in_the_cluster(manifests):
    allowed_ports = {53, 5432, 6333, 6335, 8000}  # DNS, PostgreSQL, Qdrant, its peers, the LLM
    for policy in of_kind(manifests, "NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            assert rule.get("to"), f"{policy['metadata']['name']}: an egress rule without `to` allows everywhere"
            for peer in rule["to"]:
                assert "ipBlock" not in peer, f"{policy['metadata']['name']}: egress to addresses outside the cluster"
            ports = {port["port"] for port in rule.get("ports", [])}
            assert ports and ports <= allowed_ports, policy["metadata"]["name"]


def test_dns_goes_to_kube_dns_only_and_the_engine_has_no_egress(manifests):
    for policy in of_kind(manifests, "NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            if {port["port"] for port in rule["ports"]} & {53}:
                assert rule["to"] == [{
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }]  # fmt: skip
    llm = named(manifests, "NetworkPolicy", "llm")["spec"]
    assert "Egress" in llm["policyTypes"] and not llm.get("egress")


# -- disruptions ------------------------------------------------------------------------------------------------


def test_every_workload_has_a_disruption_budget(manifests):
    budgets = [b["spec"]["selector"]["matchLabels"] for b in of_kind(manifests, "PodDisruptionBudget")]
    for workload in of_kind(manifests, *WORKLOADS):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert any(selector.items() <= labels.items() for selector in budgets), workload["metadata"]["name"]
