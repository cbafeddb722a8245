"""The real bot as its own process (``python -m bot serve``) on a free loopback port, stopped by PID.

The one way tests start a bot process. It gets a clean environment (no ``.env``: it runs in the log's
folder, importing the bot from this checkout), authentication off, the bundled articles unless
``KB_PATH`` is given and no index cache; it is ready once its port accepts connections (the
knowledge base is loaded before the port is bound).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services import free_port

REPO = Path(__file__).resolve().parents[2]
AGENT_TEAM = "19:team@thread.tacv2"
"""The team of the test channels (``teams_message(channel=True)``): in ``AGENT_TEAMS`` unless a test says otherwise."""
PASSED_THROUGH = ("PATH", "HOME", "LANG", "TMPDIR", "CI")
"""The only variables of the test run's environment the bot process sees."""


@dataclass
class ServerProcess:
    """One ``python -m bot serve`` process."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_kb(self) -> int:
        """Resident memory of the server process, in KiB."""
        with open(f"/proc/{self.process.pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as a crash would leave it."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (aiohttp's graceful shutdown closes the stores), then SIGKILL if it lingers."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def log_tail(self) -> str:
        return self.output()[-3000:]


def start_server(state: Path | None, log: Path, *, port: int | None = None, startup_s: float = 60.0,
                 env: Mapping[str, str] | None = None) -> ServerProcess:
    """Start the bot, with SQLite state at ``state`` (else ``STATE_STORE`` from ``env``); returns once it listens."""
    port = port or free_port()
    environment = {k: v for k, v in os.environ.items() if k in PASSED_THROUGH}
    environment.update({"HOST": "127.0.0.1", "PORT": str(port), "KB_CACHE_DIR": "", "LOG_LEVEL": "WARNING",
                        "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "AGENT_TEAMS": AGENT_TEAM})
    if state is not None:
        environment["STATE_STORE"] = f"sqlite:///{state}"
    environment.update(env or {})
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=log.parent, env=environment,
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = ServerProcess(process, port, log)
    deadline = time.monotonic() + startup_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            if not server.alive() or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"the bot did not start; its log ends:\n{server.log_tail()}") from None
            time.sleep(0.1)
