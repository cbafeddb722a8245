"""Running the command line in tests: the real ``python -m bot`` process, or ``main`` in this one."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from bot.cli import main

REPO = Path(__file__).resolve().parents[3]
BUNDLED = REPO / "knowledge" / "articles"
SEED = "error-validating-access-token-during-onboarding"
PASSED_THROUGH = ("PATH", "HOME", "LANG", "TMPDIR", "CI")
"""The only variables of the test run's environment the command sees."""


def run_bot(*argv: str, cwd: Path, env: Mapping[str, str] | None = None, stdin: bytes | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGV`` in ``cwd`` (no ``.env`` there), importing the bot from this checkout, with a clean
    environment (no index cache unless ``env`` sets ``KB_CACHE_DIR``); its exit status, stdout and stderr."""
    environment = {k: v for k, v in os.environ.items() if k in PASSED_THROUGH}
    environment.update({"PYTHONPATH": str(REPO), "KB_CACHE_DIR": "", "PYTHONIOENCODING": "utf-8"})
    environment.update(env or {})
    done = subprocess.run([sys.executable, "-m", "bot", *argv], cwd=cwd, env=environment, input=stdin,
                          capture_output=True, timeout=timeout, check=False)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode("utf-8"),
                                       done.stderr.decode("utf-8"))


def run_main(*argv: str) -> tuple[int, str, str]:
    """``main(argv)`` in this process: exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()
