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
