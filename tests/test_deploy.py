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


def _k8s_documents() -> dict[str, dict[str, Any]]:
    documents: dict[str, dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                documents[doc["kind"]] = doc
    return documents


def test_k8s_yaml_parses_and_has_each_kind() -> None:
    kinds = set(_k8s_documents())
    assert kinds >= {"Deployment", "Service", "PersistentVolumeClaim", "ConfigMap", "Kustomization"}


def test_kustomization_lists_every_manifest() -> None:
    kustomization = _k8s_documents()["Kustomization"]
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_deployment_probes_health_and_keeps_state_on_the_claim() -> None:
    docs = _k8s_documents()
    spec = docs["Deployment"]["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz", probe
    port = {p["name"]: p["containerPort"] for p in container["ports"]}
    config = docs["ConfigMap"]["data"]
    assert port["http"] == int(config["PORT"]) == 3978
    assert config["HOST"] == "0.0.0.0"
    service_port = docs["Service"]["spec"]["ports"][0]
    assert service_port["targetPort"] in port
    assert docs["Service"]["spec"]["selector"].items() <= spec["template"]["metadata"]["labels"].items()
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
              if "persistentVolumeClaim" in v}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert claims == {"state": docs["PersistentVolumeClaim"]["metadata"]["name"]}
    assert mounts["state"] == "/app/var" and config["STATE_STORE"] == "sqlite:///var/insight-desk.db"
    env_from = {next(iter(ref)): next(iter(ref.values()))["name"] for ref in container["envFrom"]}
    assert env_from["configMapRef"] == docs["ConfigMap"]["metadata"]["name"]
    assert env_from["secretRef"] == "insight-desk-credentials"
    assert pod["securityContext"]["runAsNonRoot"] is True


# --- container and settings -----------------------------------------------------------------------


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
                         "MicrosoftAppType", "MicrosoftAppTenantId", "LOG_LEVEL", "ALLOWED_TENANTS",
                         "RATE_LIMIT_PER_MINUTE", "RATE_LIMIT_BURST", "REDACT_TRANSCRIPTS"}
    assert keys["STATE_STORE"] == "sqlite:///var/insight-desk.db"
    assert keys["MicrosoftAppPassword"] == "", "no secret may be committed"
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
