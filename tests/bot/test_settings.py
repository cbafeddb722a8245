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
