"""Settings from the environment, with the attribute names botbuilder reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.settings import Settings


def test_defaults_without_environment(tmp_path: Path) -> None:
    s = Settings.from_env({}, dotenv=tmp_path / "none.env")
    assert (s.host, s.port, s.kb_paths, s.state_store) == ("127.0.0.1", 3978, (), "sqlite:///var/insight-desk.db")
    assert (s.APP_ID, s.APP_PASSWORD, s.APP_TYPE) == ("", "", "MultiTenant")
    assert not hasattr(s, "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL")


def test_environment_and_botbuilder_keys(tmp_path: Path) -> None:
    env = {"HOST": "0.0.0.0", "PORT": "8080", "KB_PATH": os.pathsep.join(["a", "b"]),
           "STATE_STORE": "memory://", "MicrosoftAppId": "app", "MicrosoftAppPassword": "pw",
           "MicrosoftAppType": "SingleTenant", "MicrosoftAppTenantId": "tenant",
           "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": "http://127.0.0.1:1/meta"}
    s = Settings.from_env(env, dotenv=tmp_path / "none.env")
    assert (s.host, s.port, s.kb_paths, s.state_store) == ("0.0.0.0", 8080, ("a", "b"), "memory://")
    assert (s.APP_ID, s.APP_PASSWORD, s.APP_TYPE, s.APP_TENANTID) == ("app", "pw", "SingleTenant", "tenant")
    assert s.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL == "http://127.0.0.1:1/meta"


def test_dotenv_file_is_read_and_real_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("PORT=4000\nLOG_LEVEL=debug\n", encoding="utf-8")
    s = Settings.from_env({"PORT": "5000"}, dotenv=dotenv)
    assert (s.port, s.log_level) == (5000, "DEBUG")


def test_bad_port_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PORT must be a number"):
        Settings.from_env({"PORT": "eighty"}, dotenv=tmp_path / "none.env")


def test_every_key_botbuilder_reads_is_passed_through(tmp_path: Path) -> None:
    from bot.settings import BOT_FRAMEWORK_KEYS

    env = {key: f"value-of-{key}" for key in BOT_FRAMEWORK_KEYS}
    env["VALIDATE_AUTHORITY"] = "false"
    s = Settings.from_env(env, dotenv=tmp_path / "none.env")
    for key in BOT_FRAMEWORK_KEYS:
        expected: object = False if key == "VALIDATE_AUTHORITY" else f"value-of-{key}"
        assert getattr(s, key) == expected, key
    assert Settings.from_env({"VALIDATE_AUTHORITY": "true"}, dotenv=tmp_path / "none.env").VALIDATE_AUTHORITY is True


def test_the_keys_are_the_ones_botbuilders_configuration_reads() -> None:
    import inspect
    import re

    from botbuilder.integration.aiohttp import (
        configuration_bot_framework_authentication,
        configuration_service_client_credential_factory,
    )

    from bot.settings import BOT_FRAMEWORK_KEYS

    source = inspect.getsource(configuration_bot_framework_authentication)
    source += inspect.getsource(configuration_service_client_credential_factory)
    read = set(re.findall(r'getattr\(\s*configuration,\s*"([A-Z_]+)"', source))
    read |= set(re.findall(r"configuration\.([A-Z_]{4,})", source))
    assert read == set(BOT_FRAMEWORK_KEYS) | {"APP_ID", "APP_PASSWORD", "APP_TYPE", "APP_TENANTID"}


def test_settings_are_frozen(tmp_path: Path) -> None:
    import dataclasses

    s = Settings.from_env({}, dotenv=tmp_path / "none.env")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.port = 1  # type: ignore[misc]


def test_trust_settings_from_the_environment(tmp_path: Path) -> None:
    env = {"ALLOWED_TENANTS": " t-1, T-2 ,,", "RATE_LIMIT_PER_MINUTE": "12.5", "RATE_LIMIT_BURST": "4",
           "REDACT_TRANSCRIPTS": "true"}
    s = Settings.from_env(env, dotenv=tmp_path / "none.env")
    assert s.allowed_tenants == frozenset({"t-1", "T-2"})
    assert (s.rate_limit_per_minute, s.rate_limit_burst, s.redact_transcripts) == (12.5, 4, True)
    default = Settings.from_env({}, dotenv=tmp_path / "none.env")
    assert (default.allowed_tenants, default.redact_transcripts) == (frozenset(), False)
    assert default.rate_limit_per_minute > 0


@pytest.mark.parametrize(("key", "value"), [("RATE_LIMIT_PER_MINUTE", "fast"), ("RATE_LIMIT_BURST", "2.5"),
                                            ("RATE_LIMIT_BURST", "-1")])
def test_bad_rate_limits_are_clear_errors(tmp_path: Path, key: str, value: str) -> None:
    with pytest.raises(ValueError, match=key):
        Settings.from_env({key: value}, dotenv=tmp_path / "none.env")


@pytest.mark.parametrize("app_type", ["SingleTenant", "UserAssignedMSI"])
def test_tenant_bound_app_types_need_a_tenant_id(tmp_path: Path, app_type: str) -> None:
    with pytest.raises(ValueError, match="MicrosoftAppTenantId"):
        Settings.from_env({"MicrosoftAppType": app_type, "MicrosoftAppId": "x"}, dotenv=tmp_path / "none.env")
    ok = Settings.from_env({"MicrosoftAppType": app_type, "MicrosoftAppId": "x", "MicrosoftAppTenantId": "t"},
                           dotenv=tmp_path / "none.env")
    assert app_type == ok.APP_TYPE
