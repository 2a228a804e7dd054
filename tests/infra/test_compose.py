"""docker-compose.yml and infra/Dockerfile, checked without Docker: the compose file, interpolated from the sample env
file as Compose would for each profile, validates against the Compose Specification's schema, and holds what a
customer relies on (pinned images, health-gated start, one LLM engine under the name `llm`, GPUs for the GPU
profiles, secrets only from the environment, telemetry off, no route out for the backend)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from compose_env import (
    MissingVariable,
    active_services,
    interpolate,
    interpolate_text,
    read_env_file,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "infra" / "compose.env.example"
DOCKERFILE = ROOT / "infra" / "Dockerfile"
# The Compose Specification's JSON schema, vendored (Apache-2.0): github.com/compose-spec/compose-spec,
# schema/compose-spec.json as of commit a08f8d51631b7127ddac3d2c65537db429d0f1d0 (2025-10-21).
SCHEMA = Path(__file__).with_name("compose-spec.json")

PROFILES = ("gpu", "gpu-large", "cpu")
ENGINES = {"gpu": "vllm", "gpu-large": "vllm-large", "cpu": "llamacpp"}
SECRETS = ("QDRANT_API_KEY", "VLLM_API_KEY", "POSTGRES_PASSWORD")
# Environment variables that hold a secret, by name.
SECRET_NAME = re.compile(r"(^|_)(PASSWORD|API_KEY|SECRET|TOKEN)($|_)|DATABASE_URL")


def sample_env(profile: str) -> dict[str, str]:
    """The sample env file as an operator fills it in: the secrets set, the profile chosen."""
    env = read_env_file(ENV_EXAMPLE)
    env.update({name: f"sample-{name.lower().replace('_', '-')}" for name in SECRETS})
    env["COMPOSE_PROFILES"] = profile
    return env


def raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_for(profile: str) -> dict[str, Any]:
    """The compose file as Compose reads it with the sample env and this profile."""
    return interpolate(raw_compose(), sample_env(profile))


def services_for(profile: str) -> dict[str, Any]:
    """The services of this engine's profile."""
    return active_services(compose_for(profile), {profile})


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_runs_ingestion_workers_on_the_queue_the_app_and_api_fill(profile):
    services = services_for(profile)
    worker = services["worker"]
    assert worker["command"] == ["enclave", "worker"] and int(worker["deploy"]["replicas"]) >= 2
    for name in ("app", "api", "worker"):
        assert services[name]["environment"]["ENCLAVE_INGEST_QUEUE"] == "postgres"
        assert services[name]["environment"]["ENCLAVE_DATABASE_URL"].startswith("postgresql://")


# -- the small interpolation the tests rely on -----------------------------------------------------------------


def test_interpolation_follows_compose_rules_for_defaults_and_escapes():
    env = {"SET": "value", "EMPTY": ""}
    assert interpolate_text("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${UNSET:-${SET}}", env) == "value d  d value"
    assert interpolate_text("${SET:+alt} ${EMPTY:+alt} ${EMPTY+alt} $SET $$SET $${SET}", env) == "alt  alt value $SET ${SET}"


@pytest.mark.parametrize("form", ["${EMPTY:?set it}", "${UNSET?set it}"])
def test_interpolation_stops_on_a_required_variable_without_a_value(form):
    with pytest.raises(MissingVariable, match="set it"):
        interpolate_text(form, {"EMPTY": ""})


# -- the compose file ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_compose_file_interpolated_for_each_profile_validates_against_the_compose_spec(profile):
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose_for(profile)), key=str)
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


@pytest.mark.parametrize("secret", SECRETS)
def test_compose_refuses_to_start_while_a_secret_is_unset(secret):
    env = sample_env("gpu")
    env[secret] = ""  # as left in the sample file
    with pytest.raises(MissingVariable, match=f"{secret}.*set {secret} in .env"):
        interpolate(raw_compose(), env)


def test_the_sample_env_file_leaves_every_secret_empty():
    env = read_env_file(ENV_EXAMPLE)
    assert {name: env.get(name) for name in SECRETS} == {name: "" for name in SECRETS}


def test_every_image_is_pinned_to_a_version():
    for name, service in compose_for("gpu")["services"].items():  # every profile's
        image = service.get("image")
        assert image, f"service {name} names no image"
        assert re.fullmatch(r"[\w./-]+(:[\w.-]+)?(@sha256:[0-9a-f]{64})?", image), f"{name}: odd image {image!r}"
        assert ":" in image.rsplit("/", 1)[-1] or "@sha256:" in image, f"{name}: image {image!r} has no tag"
        assert not image.endswith(":latest"), f"{name}: image {image!r} floats on latest"


def test_dockerfile_bases_are_pinned_to_a_version():
    bases = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert bases
    for base in bases:
        assert re.fullmatch(r"[\w./-]+:\d[\w.-]*", base), f"FROM {base}: pin a version tag"


@pytest.mark.parametrize("profile", PROFILES)
def test_every_service_has_a_healthcheck_and_waits_for_healthy_dependencies(profile):
    services = services_for(profile)
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"service {name} has no health check"
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition["condition"] == "service_healthy", f"{name} starts before {dependency} is healthy"
            if dependency not in services:
                assert condition.get("required") is False, f"{name} needs {dependency}, not started in {profile}"


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_runs_one_llm_engine_under_the_name_the_app_calls(profile):
    services = services_for(profile)
    behind_llm = [
        name for name, service in services.items()
        if isinstance(service["networks"], dict) and "llm" in (service["networks"]["backend"] or {}).get("aliases", [])
    ]  # fmt: skip
    assert behind_llm == [ENGINES[profile]]
    assert services["app"]["depends_on"][ENGINES[profile]]["condition"] == "service_healthy"
    for name in ("app", "api", "worker"):  # the API and the worker start after the app
        assert services[name]["environment"]["ENCLAVE_LLM_BASE_URL"] == "http://llm:8000/v1"


@pytest.mark.parametrize("profile", PROFILES)
def test_the_engine_answers_to_the_model_name_the_app_asks_for(profile):
    services = services_for(profile)
    asked = services["app"]["environment"]["ENCLAVE_LLM_MODEL"]
    command = services[ENGINES[profile]]["command"]
    flag = "--alias" if profile == "cpu" else "--served-model-name"
    names = command[command.index(flag) + 1 :]
    names = names[: next((i for i, arg in enumerate(names) if arg.startswith("--")), len(names))]
    assert asked in names


@pytest.mark.parametrize("profile", ["gpu", "gpu-large"])
def test_gpu_profiles_reserve_one_nvidia_gpu(profile):
    engine = services_for(profile)[ENGINES[profile]]
    devices = engine["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert engine["image"].startswith("vllm/vllm-openai:")


def test_the_cpu_profile_reserves_no_gpu_and_runs_llama_cpp_as_a_user():
    services = services_for("cpu")
    assert not any("reservations" in service.get("deploy", {}).get("resources", {}) for service in services.values())
    engine = services["llamacpp"]
    assert engine["image"].startswith("ghcr.io/ggml-org/llama.cpp:server-b")
    assert not engine["user"].startswith("0")
    assert engine["command"][engine["command"].index("--model") + 1].endswith(".gguf")


def test_the_large_profile_uses_the_recipe_settings_for_one_80_gb_gpu():
    command = services_for("gpu-large")["vllm-large"]["command"]
    assert command[0] == "/models/gpt-oss-120b"
    assert command[command.index("--gpu-memory-utilization") + 1] == "0.95"
    assert command[command.index("--max-num-batched-tokens") + 1] == "1024"


def test_secrets_come_from_the_environment_never_from_the_file():
    for name, service in raw_compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if key == "<<" or not SECRET_NAME.search(key):
                continue
            secrets_in_value = re.findall(r"\$\{(\w+)", str(value))
            assert secrets_in_value, f"{name}: {key} is written in the file"
            for variable in secrets_in_value:
                if SECRET_NAME.search(variable):
                    assert re.search(rf"\$\{{{variable}:\?", str(value)), f"{name}: {key} must require ${{{variable}}}"


@pytest.mark.parametrize("profile", PROFILES)
def test_telemetry_is_off_and_the_engines_run_offline(profile):
    services = services_for(profile)
    assert services["qdrant"]["environment"]["QDRANT__TELEMETRY_DISABLED"] == "true"
    engine = services[ENGINES[profile]]["environment"]
    assert engine["HF_HUB_OFFLINE"] == "1" and engine["DO_NOT_TRACK"] == "1"
    if profile != "cpu":
        assert engine["VLLM_NO_USAGE_STATS"] == "1"
    dockerfile = DOCKERFILE.read_text()
    for setting in ("STREAMLIT_BROWSER_GATHER_USAGE_STATS=false", "HF_HUB_OFFLINE=1", "HF_HUB_DISABLE_TELEMETRY=1"):
        assert setting in dockerfile


@pytest.mark.parametrize("profile", PROFILES)
def test_only_the_app_and_the_api_are_published_and_the_backend_has_no_route_out(profile):
    document = compose_for(profile)
    assert document["networks"]["backend"]["internal"] is True
    services = active_services(document, {profile})
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"app", "api"}
    for name in published:
        assert all(port.startswith("127.0.0.1:") for port in services[name]["ports"])  # the sample's default
    for name, service in services.items():
        if name not in published:
            assert list(service["networks"]) == ["backend"], f"{name} must live on the internal network only"


# -- the image -------------------------------------------------------------------------------------------------


def final_stage(dockerfile: str) -> str:
    return re.split(r"^FROM\s", dockerfile, flags=re.MULTILINE)[-1]


def test_the_image_is_built_in_two_stages_and_the_last_has_no_compiler():
    dockerfile = DOCKERFILE.read_text()
    assert len(re.findall(r"^FROM\s", dockerfile, flags=re.MULTILINE)) >= 2
    final = final_stage(dockerfile)
    assert "COPY --from=build /opt/venv /opt/venv" in final
    for compiler in ("build-essential", "gcc", "g++", "clang", "cmake", "python3-dev"):
        assert not re.search(rf"(?<![\w-]){re.escape(compiler)}(?![\w-])", final), f"{compiler} in the final image"


def test_the_image_runs_as_a_user_with_its_embedding_model_baked_in_and_a_healthcheck():
    final = final_stage(DOCKERFILE.read_text())
    users = re.findall(r"^USER\s+(\S+)", final, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    # The export runs as that user, after USER, so the running container can read it and never writes it.
    assert final.index("USER") < final.index("Embedder(s.embedding_model_path")
    assert "XDG_CACHE_HOME=/opt/enclave/cache" in final
    assert re.search(r"^HEALTHCHECK .*\n\s+CMD .*/healthz", final, flags=re.MULTILINE)
