"""Configuration, read once from the environment (and a ``.env`` file when present)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from bot.channel.service_urls import AllowedServiceUrl, is_loopback_host, parse_allowed_service_urls

# Keys botbuilder's ConfigurationBotFrameworkAuthentication reads besides the app credentials.
BOT_FRAMEWORK_KEYS = (
    "CHANNEL_SERVICE",
    "VALIDATE_AUTHORITY",
    "TO_CHANNEL_FROM_BOT_LOGIN_URL",
    "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE",
    "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER",
    "OAUTH_URL",
    "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL",
    "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL",
    "CALLER_ID",
)
BOOLEAN_KEYS = frozenset({"VALIDATE_AUTHORITY"})
"""Keys botbuilder uses as booleans: ``false``, ``0``, ``no`` and ``off`` read as ``False``."""
DEFAULT_STATE_STORE = "sqlite:///var/insight-desk.db"
DEFAULT_KB_LEARNED_PATH = "var/learned"
DEFAULT_RATE_LIMIT_PER_MINUTE = 30.0
DEFAULT_RATE_LIMIT_BURST = 10
APP_TYPES_WITH_TENANT = frozenset({"singletenant", "userassignedmsi"})


def _number(env: Mapping[str, str], key: str, default: float, *, integer: bool = False) -> float:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ValueError(f"{key} must be a {'whole ' if integer else ''}number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{key} must not be negative, got {raw!r}")
    return value


def _flag(env: Mapping[str, str], key: str) -> bool:
    return env.get(key, "").strip().lower() in ("1", "true", "yes", "on")


def _seconds(env: Mapping[str, str], key: str) -> float:
    text = env.get(key, "").strip()
    try:
        value = float(text) if text else 0.0
    except ValueError:
        raise ValueError(f"{key} must be a number of seconds, got {text!r}") from None
    if value < 0:
        raise ValueError(f"{key} must not be negative, got {text!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Attribute names in capitals are the ones botbuilder reads."""

    host: str = "127.0.0.1"
    port: int = 3978
    kb_paths: tuple[str, ...] = ()
    kb_cache_dir: str | None = "var/kb-cache"
    kb_learned_path: str = DEFAULT_KB_LEARNED_PATH
    """The knowledge-base folder where wordings agents approved are written (``KB_LEARNED_PATH``), loaded after
    ``kb_paths``; ``""`` turns proposing wordings to agents off."""
    state_store: str = DEFAULT_STATE_STORE
    azure_storage_connection_string: str = ""
    log_level: str = "INFO"
    escalation_handoff: str = "teams"
    """Where tickets go: ``teams`` (agents' channels), ``hub`` (``handoff.initiate``), ``both``."""
    allowed_tenants: frozenset[str] = frozenset()
    """Teams tenant ids served (``ALLOWED_TENANTS``, comma-separated); empty serves every tenant."""
    agent_teams: frozenset[str] = frozenset()
    """Teams whose channels may act as support (``AGENT_TEAMS``: comma-separated team ids ``19:…@thread.tacv2``
    or AAD group ids); empty: no channel may ``register agents``."""
    rate_limit_per_minute: float = DEFAULT_RATE_LIMIT_PER_MINUTE
    """Messages one conversation may send per minute on average (``RATE_LIMIT_PER_MINUTE``); 0 turns it off."""
    rate_limit_burst: int = DEFAULT_RATE_LIMIT_BURST
    """Messages one conversation may send at once before the average applies (``RATE_LIMIT_BURST``)."""
    redact_transcripts: bool = False
    """Mask ids (GUIDs), emails and IP addresses in stored user text (``REDACT_TRANSCRIPTS``)."""
    log_format: str = "text"
    kb_reload_seconds: float = 0.0
    appinsights_connection_string: str = ""
    appinsights_instrumentation_key: str = ""
    allow_unauthenticated: bool = False
    """Serve a non-loopback ``HOST`` without an app id (``ALLOW_UNAUTHENTICATED``): a lab only, logged as a WARNING."""
    allowed_service_urls: tuple[AllowedServiceUrl, ...] = ()
    """Where replies may go without authentication besides loopback (``ALLOWED_SERVICE_URLS``, comma-separated)."""
    APP_ID: str = ""
    APP_PASSWORD: str = ""
    APP_TYPE: str = "MultiTenant"
    APP_TENANTID: str = ""
    bot_framework: Mapping[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> str | bool:
        # Only called for attributes the dataclass lacks: botbuilder's optional keys.
        values = object.__getattribute__(self, "bot_framework")
        if name not in values:
            raise AttributeError(name)
        value = str(values[name])
        if name in BOOLEAN_KEYS:
            return value.strip().lower() not in ("false", "0", "no", "off")
        return value

    @property
    def authenticates(self) -> bool:
        """Whether channel tokens are checked: botbuilder turns authentication off without an app id."""
        return bool(self.APP_ID)

    @property
    def open_to_network(self) -> bool:
        """Whether anyone who reaches ``HOST`` (not loopback) may post activities without a token."""
        return not self.authenticates and not is_loopback_host(self.host)

    def exposure_problem(self) -> str | None:
        """Why serving these settings would be unsafe, or ``None``: a network ``HOST`` without authentication
        needs ``ALLOW_UNAUTHENTICATED=true``."""
        if not self.open_to_network or self.allow_unauthenticated:
            return None
        return (f"HOST={self.host} is reachable from other machines but MicrosoftAppId is not set, so anyone"
                " could post activities unauthenticated; set the Azure Bot's credentials (MicrosoftAppId,"
                " MicrosoftAppPassword), listen on HOST=127.0.0.1, or set ALLOW_UNAUTHENTICATED=true for a lab")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, dotenv: str | Path | None = ".env") -> Settings:
        """Settings from ``environ`` (default ``os.environ``) over a ``.env`` file, if there is one."""
        env: dict[str, str] = {}
        if dotenv and Path(dotenv).is_file():
            env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        env.update(os.environ if environ is None else environ)
        try:
            port = int(env.get("PORT", "3978"))
        except ValueError:
            raise ValueError(f"PORT must be a number, got {env['PORT']!r}") from None
        app_type = env.get("MicrosoftAppType", "") or "MultiTenant"
        # Without an app id authentication is off and the app type unused: a copied .env.example still runs.
        tenant_bound = app_type.lower() in APP_TYPES_WITH_TENANT
        if tenant_bound and env.get("MicrosoftAppId") and not env.get("MicrosoftAppTenantId"):
            raise ValueError(f"MicrosoftAppType={app_type} needs MicrosoftAppTenantId (the bot's Entra tenant id)")
        return cls(
            host=env.get("HOST", "127.0.0.1"),
            port=port,
            kb_paths=tuple(p for p in env.get("KB_PATH", "").split(os.pathsep) if p),
            kb_cache_dir=env.get("KB_CACHE_DIR", "var/kb-cache") or None,
            kb_learned_path=env.get("KB_LEARNED_PATH", DEFAULT_KB_LEARNED_PATH).strip(),
            state_store=env.get("STATE_STORE", DEFAULT_STATE_STORE),
            azure_storage_connection_string=env.get("AZURE_STORAGE_CONNECTION_STRING", ""),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            escalation_handoff=_handoff(env.get("ESCALATION_HANDOFF", "teams")),
            allowed_tenants=_id_list(env.get("ALLOWED_TENANTS", "")),
            agent_teams=_id_list(env.get("AGENT_TEAMS", "")),
            rate_limit_per_minute=_number(env, "RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT_PER_MINUTE),
            rate_limit_burst=int(_number(env, "RATE_LIMIT_BURST", DEFAULT_RATE_LIMIT_BURST, integer=True)),
            redact_transcripts=_flag(env, "REDACT_TRANSCRIPTS"),
            log_format=env.get("LOG_FORMAT", "text").strip().lower() or "text",
            kb_reload_seconds=_seconds(env, "KB_RELOAD_SECONDS"),
            appinsights_connection_string=env.get("APPLICATIONINSIGHTS_CONNECTION_STRING", ""),
            appinsights_instrumentation_key=env.get("APPINSIGHTS_INSTRUMENTATIONKEY", ""),
            allow_unauthenticated=_flag(env, "ALLOW_UNAUTHENTICATED"),
            allowed_service_urls=parse_allowed_service_urls(env.get("ALLOWED_SERVICE_URLS", "")),
            APP_ID=env.get("MicrosoftAppId", ""),
            APP_PASSWORD=env.get("MicrosoftAppPassword", ""),
            APP_TYPE=app_type,
            APP_TENANTID=env.get("MicrosoftAppTenantId", ""),
            bot_framework={k: env[k] for k in BOT_FRAMEWORK_KEYS if env.get(k)},
        )


def _id_list(value: str) -> frozenset[str]:
    """Comma-separated ids, spaces around each ignored."""
    return frozenset(part.strip() for part in value.split(",") if part.strip())


HANDOFF_MODES = ("teams", "hub", "both")


def _handoff(value: str) -> str:
    mode = value.strip().lower() or "teams"
    if mode not in HANDOFF_MODES:
        raise ValueError(f"ESCALATION_HANDOFF must be one of {', '.join(HANDOFF_MODES)}, got {value!r}")
    return mode


def knowledge_folders(settings: Settings, *, existing_only: bool = True) -> list[str]:
    """The folders the bot loads: ``KB_PATH`` (else the bundled articles), then ``KB_LEARNED_PATH`` (when it
    exists, unless ``existing_only`` is false: the hot reload watches it before it is created)."""
    from knowledge.engine import BUNDLED_ARTICLES  # here: reading settings loads no engine

    folders = [str(p) for p in settings.kb_paths] or [str(BUNDLED_ARTICLES)]
    learned = settings.kb_learned_path
    if learned and (not existing_only or Path(learned).is_dir()):
        resolved = {os.path.realpath(f) for f in folders}
        if os.path.realpath(learned) not in resolved:
            folders.append(learned)
    return folders
