"""``python -m bot serve`` with a setting that cannot work: one clear line and exit 2, not a traceback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.settings import Settings


@pytest.mark.parametrize(("key", "value", "message"), [
    ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of text, json, got 'xml'"),
    ("STATE_STORE", "azureblob://x", "container name 'x'"),
    ("STATE_STORE", "azureblob://insight-state", "AZURE_STORAGE_CONNECTION_STRING"),
    ("STATE_STORE", "postgres://db/x", "unknown STATE_STORE"),
    ("KB_RELOAD_SECONDS", "soon", "KB_RELOAD_SECONDS must be a number of seconds"),
    ("KB_RELOAD_SECONDS", "-1", "must not be negative"),
])
def test_serve_refuses_a_bad_setting_in_one_line(key: str, value: str, message: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(key, value)
    monkeypatch.setenv("PORT", "0")
    monkeypatch.setenv("KB_CACHE_DIR", "")
    err = io.StringIO()
    assert main(["serve"], out=io.StringIO(), err=err) == 2
    assert err.getvalue().startswith("error: ") and message in err.getvalue()
    assert err.getvalue().count("\n") == 1


def test_new_settings_are_read() -> None:
    settings = Settings.from_env({"LOG_FORMAT": " JSON ", "KB_RELOAD_SECONDS": "2.5",
                                  "AZURE_STORAGE_CONNECTION_STRING": "AccountName=a",
                                  "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=k",
                                  "APPINSIGHTS_INSTRUMENTATIONKEY": "k2"}, dotenv=None)
    assert (settings.log_format, settings.kb_reload_seconds) == ("json", 2.5)
    assert settings.azure_storage_connection_string == "AccountName=a"
    assert (settings.appinsights_connection_string, settings.appinsights_instrumentation_key) == (
        "InstrumentationKey=k", "k2")
    assert Settings.from_env({}, dotenv=None).kb_reload_seconds == 0
