"""``deploy/``: the Kubernetes manifests validate offline against a named Kubernetes version's
schemas (``kubernetes-validate`` ships them), an invalid one is caught, and the pieces agree
with each other and with the configuration ``verifier`` loads."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from verifier import load_config
from verifier.config import VerifierConfig
from verifier.service import SERVICE_NAME

KUBERNETES_VERSION = "1.35.0"
"""The version CI validates against (docs/operations.md names it too)."""
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
MANIFESTS = DEPLOY / "kubernetes"
NOT_API_OBJECTS = {"Kustomization"}
"""kustomize's own file: read by ``kubectl apply -k``, never sent to the API server."""


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def all_objects() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for document in documents(path):
            name = document.get("metadata", {}).get("name", path.stem)
            yield f"{path.name}:{document['kind']}/{name}", document


def one(kind: str, name: str | None = None) -> dict[str, Any]:
    [found] = [
        document
        for _, document in all_objects()
        if document["kind"] == kind and (name is None or document["metadata"]["name"] == name)
    ]
    return found


def validate(document: dict[str, Any]) -> None:
    # strict: a field the schema does not know (a typo, a field of a newer version) fails.
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(
    "document",
    [document for _, document in all_objects() if document["kind"] not in NOT_API_OBJECTS],
    ids=[key for key, document in all_objects() if document["kind"] not in NOT_API_OBJECTS],
)
def test_every_manifest_validates_against_the_named_kubernetes_version(
    document: dict[str, Any],
) -> None:
    validate(document)


def test_the_kinds_a_deployment_needs_are_all_there() -> None:
    kinds = {document["kind"] for _, document in all_objects()}
    assert kinds >= {
        "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler",
        "ConfigMap", "Secret", "NetworkPolicy",
    }  # fmt: skip


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.parametrize(
    ("what", "break_it"),
    [
        ("a misspelt field", lambda d: _container(d).update(readinesProbe={"grpc": {"port": 1}})),
        ("a count that is text", lambda d: d["spec"].update(replicas="three")),
        ("a gRPC probe without its port", lambda d: _container(d)["livenessProbe"]["grpc"].pop(
            "port"
        )),
        ("no containers", lambda d: d["spec"]["template"]["spec"].update(containers=None)),
    ],
)  # fmt: skip
def test_an_invalid_manifest_is_caught(what: str, break_it: Any) -> None:
    broken = copy.deepcopy(one("Deployment"))
    break_it(broken)
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)


def test_kustomization_lists_every_manifest_but_the_secrets_example() -> None:
    kustomization = one("Kustomization")
    expected = {p.name for p in MANIFESTS.glob("*.yaml")} - {
        "kustomization.yaml",
        "secrets.example.yaml",
    }
    assert set(kustomization["resources"]) == expected


def _secret_values() -> dict[tuple[str, str], str]:
    return {
        (document["metadata"]["name"], key): value
        for _, document in all_objects()
        if document["kind"] == "Secret"
        for key, value in document["stringData"].items()
    }


def _pod_environment(deployment: dict[str, Any]) -> dict[str, str]:
    """The VERIFIER_* variables as the pod gets them, secrets from the example's shape."""
    secrets = _secret_values()
    environment = {}
    for variable in _container(deployment)["env"]:
        source = variable.get("valueFrom", {})
        if "secretKeyRef" in source:
            reference = source["secretKeyRef"]
            environment[variable["name"]] = secrets[(reference["name"], reference["key"])]
        elif "fieldRef" in source:
            assert source["fieldRef"]["fieldPath"] == "metadata.name"
            environment[variable["name"]] = "verifier-7d9f8c6b5-x2k4q"
        else:
            environment[variable["name"]] = variable["value"]
    return environment


@pytest.fixture
def pod_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> VerifierConfig:
    """The ConfigMap's verifier.yaml, loaded by ``verifier``'s own loader with the pod's
    environment."""
    for name in [name for name in os.environ if name.startswith("VERIFIER_")]:
        monkeypatch.delenv(name)
    for name, value in _pod_environment(one("Deployment")).items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "verifier.yaml"
    path.write_text(one("ConfigMap", "verifier-config")["data"]["verifier.yaml"], "utf-8")
    return load_config(path)


def _mounts(deployment: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Mount path → (volume kind, read-only)."""
    volumes = {
        volume["name"]: next(kind for kind in volume if kind != "name")
        for volume in deployment["spec"]["template"]["spec"]["volumes"]
    }
    return {
        mount["mountPath"]: (volumes[mount["name"]], bool(mount.get("readOnly")))
        for mount in _container(deployment)["volumeMounts"]
    }


def _port(address: str) -> int:
    return int(address.rpartition(":")[2])


def test_the_configmap_is_a_configuration_verifier_loads(pod_config: VerifierConfig) -> None:
    config = pod_config
    assert config.audit.backend == "postgres"
    assert config.audit.replica_id == "verifier-7d9f8c6b5-x2k4q"
    assert config.cache.backend == "redis"
    assert config.access.mode.value == "mtls"
    assert config.telemetry.prometheus_port == 9464
    assert set(config.departments) == {
        "household", "social_insurance", "housing", "tax", "vehicle_registration",
        "market_regulation", "civil_affairs", "courts",
    }  # fmt: skip
    for department in config.departments:
        assert config.department_url(department).startswith("postgresql+psycopg://")


def test_the_deployment_and_the_configuration_agree(pod_config: VerifierConfig) -> None:
    config, deployment = pod_config, one("Deployment")
    container = _container(deployment)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["grpc"] == _port(config.server.address)
    assert config.server.health_address is not None
    assert ports["health"] == _port(config.server.health_address)
    assert ports["metrics"] == config.telemetry.prometheus_port
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == ports["health"], probe
    assert container["readinessProbe"]["grpc"]["service"] == SERVICE_NAME
    # Files the configuration reads are on read-only secret mounts; data_dir is writable.
    mounts = _mounts(deployment)
    tls = config.server.tls
    assert tls is not None
    assert tls.client_ca is not None
    secret_files = [
        config.audit.signing_key_file, config.audit.pseudonym_key_file,
        tls.certificate, tls.private_key, tls.client_ca,
    ]  # fmt: skip
    for path in secret_files:
        assert path is not None
        assert mounts[str(path.parent)] == ("secret", True), path
    assert mounts[str(config.data_dir)] == ("emptyDir", False)
    # Each file is a key of the Secret mounted there.
    secrets = _secret_values()
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    for path in secret_files:
        assert path is not None
        [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == str(path.parent)]
        secret_name = volumes[mount["name"]]["secret"]["secretName"]
        assert (secret_name, path.name) in secrets, path
    # SIGTERM's drain, after the preStop pause, fits in the termination grace.
    pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert pause + config.server.shutdown_grace_seconds < grace


def test_the_pod_runs_as_nobody_in_particular_on_a_read_only_root() -> None:
    deployment = one("Deployment")
    pod, container = deployment["spec"]["template"]["spec"], _container(deployment)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["requests"]["cpu"]
    assert container["resources"]["requests"]["memory"]
    # The image's user is the one the pod runs as.
    final_stage = _dockerfile_stages()[-1]
    [user] = re.findall(r"^USER (\d+):(\d+)$", final_stage, re.MULTILINE)
    assert int(user[0]) == pod["securityContext"]["runAsUser"]


def test_selectors_find_the_deployments_pods() -> None:
    labels = one("Deployment")["spec"]["template"]["metadata"]["labels"]

    def matches(selector: dict[str, str]) -> bool:
        return all(labels.get(key) == value for key, value in selector.items())

    assert matches(one("Service")["spec"]["selector"])
    assert one("Service")["spec"]["clusterIP"] == "None"  # headless: clients balance calls
    assert matches(one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"])
    assert matches(one("NetworkPolicy")["spec"]["podSelector"]["matchLabels"])
    target = one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "verifier")


def _dockerfile_stages() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    return re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]


def test_the_dockerfile_builds_in_one_stage_and_runs_from_a_clean_one() -> None:
    build, final = _dockerfile_stages()
    assert " AS build" in build.splitlines()[0]
    assert "pip install" in build
    assert "COPY --from=build /opt/verifier /opt/verifier" in final
    # No build tools brought into the final image, and pip taken out of it.
    assert not re.search(r"apt-get install|build-essential|gcc|pip install", final)
    assert "pip uninstall -y pip" in final
    config_mount = "/etc/verifier/verifier.yaml"
    assert config_mount in final
    assert config_mount in _mounts(one("Deployment"))
