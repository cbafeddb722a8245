"""The knowledge engine stands on its own: no Bot Framework or web server code is loaded."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import knowledge

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(f"knowledge.{m.name}" for m in pkgutil.iter_modules(knowledge.__path__))


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_without_botbuilder_or_aiohttp(module: str) -> None:
    probe = (
        f"import sys, {module}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'botbuilder', 'botframework', 'aiohttp'})\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"{module} loaded {done.stdout.strip()}"


def test_the_probe_can_see_a_forbidden_import() -> None:
    probe = "import sys, aiohttp\nprint('aiohttp' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "True"
