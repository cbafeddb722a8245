"""The real bot as its own process (``python -m bot serve``) on a free loopback port, stopped by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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
        """SIGKILL: no shutdown code runs."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]


def start_server(state: Path, log: Path, *, port: int | None = None, startup_s: float = 60.0,
                 **env: str) -> ServerProcess:
    """Start the bot with SQLite state at ``state``; returns once it accepts connections."""
    port = port or free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("Microsoft", "MICROSOFT"))}
    environment.update({"HOST": "127.0.0.1", "PORT": str(port), "STATE_STORE": f"sqlite:///{state}",
                        "KB_CACHE_DIR": "", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(REPO), **env})
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=REPO, env=environment,
                                   stdout=out, stderr=subprocess.STDOUT)
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
