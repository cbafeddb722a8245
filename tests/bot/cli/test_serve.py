"""``python -m bot serve``: a port in use is one line; broken knowledge-base files are logged and counted."""

from __future__ import annotations

import json
import signal
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.bot.cli.cli_runs import BUNDLED, SEED, run_bot
from tests.e2e.server_process import start_server

BROKEN = "---\ntitle: [unclosed\n---\n# Rubrik\n\nText.\n"


@pytest.mark.timeout(60)
def test_a_port_in_use_is_one_error_line_naming_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_bot("serve", cwd=tmp_path, env={"PORT": str(port), "HOST": "127.0.0.1",
                                                     "STATE_STORE": "memory://"}, timeout=50)
    assert done.returncode == 2
    assert done.stderr == (f"error: port {port} on 127.0.0.1 is already in use (another `python -m bot serve`?): "
                           "stop that process or set PORT to a free port\n")
    assert done.stdout == ""


def health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


@pytest.mark.timeout(120)
def test_serve_logs_and_counts_bad_files_at_start_and_on_each_reload(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    (kb / "sv-SE").mkdir(parents=True)
    (kb / "sv-SE" / "good.md").write_text((BUNDLED / "sv-SE" / f"{SEED}.md").read_text(encoding="utf-8"),
                                          encoding="utf-8")
    (kb / "sv-SE" / "broken.md").write_text(BROKEN, encoding="utf-8")
    (kb / "alternate-texts.yaml").write_text("sv-SE:\n  no-such-article: Något\n", encoding="utf-8")
    server = start_server(None, tmp_path / "serve.log", env={"KB_PATH": str(kb), "STATE_STORE": "memory://"})
    try:
        assert health(server.url) | {"locales": []} == {
            "status": "ok", "articles": 1, "locales": [], "alternate_texts": 0, "bad_files": 1,
            "bad_alternate_texts": 1}
        at_start = [line for line in server.output().splitlines() if "knowledge base at start" in line]
        assert len(at_start) == 1 and "1 bad files, 1 bad alternate-text entries" in at_start[0]
        assert f"{kb / 'sv-SE' / 'broken.md'}:2: broken YAML" in at_start[0]
        assert "no article 'no-such-article'" in at_start[0]

        (kb / "sv-SE" / "worse.md").write_text("no front matter\n", encoding="utf-8")
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while "knowledge base reloaded" not in server.output() and time.monotonic() < deadline:
            time.sleep(0.1)
        reloaded = [line for line in server.output().splitlines() if "knowledge base reloaded" in line]
        assert len(reloaded) == 1, server.log_tail()
        assert "2 bad files, 1 bad alternate-text entries" in reloaded[0] and "worse.md:1: no front matter" in \
            reloaded[0]
        assert health(server.url)["bad_files"] == 2
    finally:
        server.stop()
