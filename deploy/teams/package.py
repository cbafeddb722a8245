"""Build the Teams app package (a zip to upload in Teams or the Teams admin center).

    python deploy/teams/package.py --app-id <bot's Microsoft App ID> --bot-domain bot.example.com \\
        [--teams-app-id <GUID>] [--developer-name NAME] [--website-url URL] [--privacy-url URL] \\
        [--terms-url URL] [--out build/insight-desk-teams.zip]

Fills the ``${{NAME}}`` placeholders of manifest.json, refuses to write a package with any left
over, validates the filled manifest and localization files against Microsoft's JSON schemas for the
manifest's version (vendored in ``schema/v<version>/``: no network), checks the icon sizes, and zips
the manifest, both icons and the localization files at the top level, as Teams wants.
The same placeholders are what Teams Toolkit (``teamsapp``) fills from its env files.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ICON_SIZES = {"color": 192, "outline": 32}
"""Pixels (square) Teams requires of each icon."""
PLACEHOLDER = re.compile(r"\$\{\{([A-Z0-9_]+)\}\}")
FIXED_TIME = (2024, 1, 1, 0, 0, 0)  # zip entries carry no build time: the same inputs give the same zip


def fill(template: str, values: dict[str, str]) -> str:
    """``template`` with every ``${{NAME}}`` replaced; ``ValueError`` naming the first one without a value."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ValueError(f"no value for placeholder ${{{{{name}}}}}")
        return json.dumps(values[name])[1:-1]  # escaped for a JSON string

    return PLACEHOLDER.sub(value, template)


def _guid(text: str, what: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ValueError(f"{what} must be a GUID, got {text!r}") from None


def _https(url: str, what: str) -> str:
    if not re.match(r"^https://[^\s/]+(/\S*)?$", url):
        raise ValueError(f"{what} must be an https:// URL, got {url!r}")
    return url


def placeholder_values(
    *,
    app_id: str,
    bot_domain: str,
    teams_app_id: str | None = None,
    developer_name: str = "Insight Desk",
    website_url: str | None = None,
    privacy_url: str | None = None,
    terms_url: str | None = None,
) -> dict[str, str]:
    """The value of every placeholder, checked: GUIDs, a bare host name, https URLs."""
    if not re.match(r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$", bot_domain):
        raise ValueError(f"bot domain must be a host name like bot.example.com, got {bot_domain!r}")
    site = website_url or f"https://{bot_domain}/"
    return {
        "MICROSOFT_APP_ID": _guid(app_id, "the bot's Microsoft App ID"),
        "TEAMS_APP_ID": _guid(teams_app_id or app_id, "the Teams app ID"),
        "BOT_DOMAIN": bot_domain,
        "DEVELOPER_NAME": developer_name,
        "DEVELOPER_WEBSITE_URL": _https(site, "the website URL"),
        "PRIVACY_URL": _https(privacy_url or site, "the privacy URL"),
        "TERMS_OF_USE_URL": _https(terms_url or site, "the terms-of-use URL"),
    }


def schema_errors(document: object, schema_file: Path) -> list[str]:
    """Where ``document`` breaks the JSON schema in ``schema_file``: one ``path: message`` per error."""
    from jsonschema import Draft4Validator, FormatChecker  # a tool dependency (requirements-dev.txt)

    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator = Draft4Validator(schema, format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors]


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def validate(manifest: dict[str, object], localized: dict[str, object], source: Path = HERE) -> None:
    """``ValueError`` listing every schema violation of the filled manifest and localization files, and
    every icon of the wrong size."""
    version = str(manifest.get("manifestVersion", ""))
    folder = source / "schema" / f"v{version}"
    if not folder.is_dir():
        raise ValueError(f"no vendored schema for manifestVersion {version!r} (expected {folder})")
    problems = [f"manifest.json: {e}" for e in schema_errors(manifest, folder / "MicrosoftTeams.schema.json")]
    localization_schema = folder / "MicrosoftTeams.Localization.schema.json"
    for name, document in localized.items():
        problems += [f"{name}: {e}" for e in schema_errors(document, localization_schema)]
    icons = manifest.get("icons")
    for key, size in ICON_SIZES.items():
        name = icons.get(key) if isinstance(icons, dict) else None
        if not isinstance(name, str) or not (source / name).is_file():
            problems.append(f"icons.{key}: file {name!r} not found")
        elif png_size((source / name).read_bytes()) != (size, size):
            problems.append(f"icons.{key}: {name} must be {size}x{size} pixels")
    if problems:
        raise ValueError("the Teams app package is not valid:\n  " + "\n  ".join(problems))


def build_package(out: Path, values: dict[str, str], *, source: Path = HERE) -> Path:
    """Validate, then write the Teams app zip to ``out`` from the files in ``source``."""
    manifest = json.loads(fill((source / "manifest.json").read_text(encoding="utf-8"), values))
    files = [manifest["icons"]["color"], manifest["icons"]["outline"]]
    languages = [lang["file"] for lang in manifest.get("localizationInfo", {}).get("additionalLanguages", [])]
    files += languages
    validate(manifest, {name: json.loads(fill((source / name).read_text(encoding="utf-8"), values))
                        for name in languages}, source)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        entry = zipfile.ZipInfo("manifest.json", FIXED_TIME)
        package.writestr(entry, json.dumps(manifest, ensure_ascii=False, indent=2), zipfile.ZIP_DEFLATED)
        for name in files:
            data = fill((source / name).read_text(encoding="utf-8"), values).encode() if name.endswith(".json") \
                else (source / name).read_bytes()
            package.writestr(zipfile.ZipInfo(name, FIXED_TIME), data, zipfile.ZIP_DEFLATED)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-id", required=True, help="the bot's Microsoft App ID (MicrosoftAppId)")
    parser.add_argument("--bot-domain", required=True, help="host name of the bot's endpoint, e.g. bot.example.com")
    parser.add_argument("--teams-app-id", help="the Teams app's own GUID (default: the bot's app ID)")
    parser.add_argument("--developer-name", default="Insight Desk")
    parser.add_argument("--website-url", help="default: https://BOT_DOMAIN/")
    parser.add_argument("--privacy-url", help="default: the website URL")
    parser.add_argument("--terms-url", help="default: the website URL")
    parser.add_argument("--out", type=Path, default=Path("build/insight-desk-teams.zip"))
    args = parser.parse_args(argv)
    try:
        values = placeholder_values(
            app_id=args.app_id, bot_domain=args.bot_domain, teams_app_id=args.teams_app_id,
            developer_name=args.developer_name, website_url=args.website_url,
            privacy_url=args.privacy_url, terms_url=args.terms_url,
        )
        out = build_package(args.out, values)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
