"""Configuration, read once from the environment (and a ``.env`` file when present)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

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
    state_store: str = DEFAULT_STATE_STORE
    azure_storage_connection_string: str = ""
    log_level: str = "INFO"
    log_format: str = "text"
    kb_reload_seconds: float = 0.0
    appinsights_connection_string: str = ""
    appinsights_instrumentation_key: str = ""
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
        return cls(
            host=env.get("HOST", "127.0.0.1"),
            port=port,
            kb_paths=tuple(p for p in env.get("KB_PATH", "").split(os.pathsep) if p),
            kb_cache_dir=env.get("KB_CACHE_DIR", "var/kb-cache") or None,
            state_store=env.get("STATE_STORE", DEFAULT_STATE_STORE),
            azure_storage_connection_string=env.get("AZURE_STORAGE_CONNECTION_STRING", ""),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            log_format=env.get("LOG_FORMAT", "text").strip().lower() or "text",
            kb_reload_seconds=_seconds(env, "KB_RELOAD_SECONDS"),
            appinsights_connection_string=env.get("APPLICATIONINSIGHTS_CONNECTION_STRING", ""),
            appinsights_instrumentation_key=env.get("APPINSIGHTS_INSTRUMENTATIONKEY", ""),
            APP_ID=env.get("MicrosoftAppId", ""),
            APP_PASSWORD=env.get("MicrosoftAppPassword", ""),
            APP_TYPE=env.get("MicrosoftAppType", "") or "MultiTenant",
            APP_TENANTID=env.get("MicrosoftAppTenantId", ""),
            bot_framework={k: env[k] for k in BOT_FRAMEWORK_KEYS if env.get(k)},
        )
