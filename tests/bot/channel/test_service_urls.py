"""Where replies may go without authentication: decided on the parsed URL, ambiguous hosts refused."""

from __future__ import annotations

import pytest

from bot.channel.service_urls import is_loopback_host, parse_allowed_service_urls, service_url_refusal
from bot.settings import Settings

ALLOWED = parse_allowed_service_urls("https://smba.trafficmanager.net/emea/, http://10.1.2.3:3000")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:3978/", "http://127.9.9.9/", "http://localhost:3978", "http://[::1]:80/",
    "http://[::ffff:127.0.0.1]/", "https://smba.trafficmanager.net/emea/", "https://SMBA.trafficmanager.net:443/emea/x",
    "http://10.1.2.3:3000/", "http://10.1.2.3:3000/v3/conversations",
])
def test_loopback_and_listed_urls_are_allowed(url: str) -> None:
    assert service_url_refusal(url, ALLOWED) is None


@pytest.mark.parametrize(("url", "why"), [
    ("http://169.254.169.254/latest/meta-data/", "neither on loopback nor listed"),
    ("http://10.0.0.1/", "neither on loopback nor listed"),
    ("http://10.1.2.3/", "neither on loopback nor listed"),             # listed host, other port
    ("https://smba.trafficmanager.net/amer/", "neither on loopback nor listed"),
    ("https://smba.trafficmanager.net/emeax/", "neither on loopback nor listed"),
    ("http://smba.trafficmanager.net/emea/", "neither on loopback nor listed"),  # other scheme
    ("http://localhost.example.com/", "neither on loopback nor listed"),
    ("https://smba.trafficmanager.net/emea/../amer/", "dot segments"),
    ("https://smba.trafficmanager.net/emea/%2e%2e/amer/", "dot segments"),
    ("http://user:pw@127.0.0.1/", "credentials"),
    ("http://evil.example@127.0.0.1/", "credentials"),
    ("http://127.0.0.1\\@evil.example/", "credentials"),
    ("http://0x7f.1/", "number"), ("http://127.1/", "number"), ("http://2130706433/", "number"),
    ("http://0177.0.0.1/", "number"), ("http://127.0.0.1./", "dot"), ("http://１２７.0.0.1/", "ASCII"),
    ("http://127.0.0.1:99999/", "port"), ("ftp://127.0.0.1/", "http(s)"),
])
def test_other_or_ambiguous_urls_are_refused(url: str, why: str) -> None:
    refusal = service_url_refusal(url, ALLOWED)
    assert refusal is not None and why in refusal


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True), ("0.0.0.0", False), ("::", False),
    ("", False), ("10.0.0.5", False), ("bot.example.com", False), ("0x7f.1", False)])
def test_which_hosts_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize("entry", ["http://user:pw@connector.test/", "ftp://connector.test/", "http://0x7f.1/",
                                   "https://connector.test/?a=1", "connector.test"])
def test_an_allowed_entry_that_cannot_work_is_a_settings_error(entry: str) -> None:
    with pytest.raises(ValueError, match="ALLOWED_SERVICE_URLS entry"):
        Settings.from_env({"ALLOWED_SERVICE_URLS": f"http://ok.test, {entry}"}, dotenv=None)


def test_settings_read_the_lab_switch_and_the_allowed_urls() -> None:
    settings = Settings.from_env({"HOST": "0.0.0.0", "ALLOW_UNAUTHENTICATED": "true",
                                  "ALLOWED_SERVICE_URLS": "http://lab-emulator.test:5000"}, dotenv=None)
    assert settings.allow_unauthenticated and settings.open_to_network and settings.exposure_problem() is None
    assert [entry.host for entry in settings.allowed_service_urls] == ["lab-emulator.test"]
    closed = Settings.from_env({"HOST": "0.0.0.0"}, dotenv=None)
    assert "ALLOW_UNAUTHENTICATED=true" in (closed.exposure_problem() or "")
    assert Settings.from_env({"HOST": "0.0.0.0", "MicrosoftAppId": "app"}, dotenv=None).exposure_problem() is None
    assert Settings.from_env({"HOST": "127.0.0.1"}, dotenv=None).exposure_problem() is None
