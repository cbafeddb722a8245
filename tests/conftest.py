"""Fixtures every test folder may use: the real services (Redis, Azurite) in ``services``.

Hypothesis explores new examples on every local run; under CI (``CI=true``) it runs a fixed,
derandomized set, so a submission is judged on the same inputs every time and a property that
fails there fails reproducibly.
"""

import os

import pytest
from hypothesis import settings

pytest_plugins = ("tests.services.fixtures",)

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _no_index_cache_in_the_working_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m bot ask`` and ``kb`` commands run in-process cache the index in ``KB_CACHE_DIR`` (default
    ``var/kb-cache`` below the working folder, the checkout); tests that want a cache give a folder of their own."""
    monkeypatch.setenv("KB_CACHE_DIR", "")
