"""Real services for the tests and benchmarks (Redis from Debian, Azurite from npm), installed and started by us.

    with redis_server(tmp_dir) as redis:            # installs redis-server with apt-get if missing
        url = redis.url                             # redis://127.0.0.1:<free port>/0, no persistence
    with azurite_blob(tmp_dir) as azurite:          # installs azurite from npm into a cache folder
        connection_string = azurite.connection_string

Each service listens on 127.0.0.1 on a free port, keeps its files in the given folder and is stopped
by its PID (SIGTERM, then SIGKILL) when the block ends. ``ServiceUnavailable`` says why one could not be
installed or started; the fixtures in ``tests.services.fixtures`` turn it into a failure under CI.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AZURITE_ACCOUNT", "AZURITE_KEY", "RunningService", "ServiceUnavailable", "azurite_blob",
           "free_port", "redis_server", "stop_process"]

HERE = Path(__file__).resolve().parent
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""Azurite's well-known development account (published in its documentation; not a secret)."""
START_TIMEOUT = 30.0


class ServiceUnavailable(Exception):
    """A test service could not be installed or started; the message says which and why."""


@dataclass(frozen=True)
class RunningService:
    name: str
    pid: int
    port: int
    log: Path

    @property
    def url(self) -> str:
        """The Redis URL (database 0) of a Redis service."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def connection_string(self) -> str:
        """The Blob connection string of an Azurite service."""
        return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                f"BlobEndpoint=http://127.0.0.1:{self.port}/{AZURITE_ACCOUNT};")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def install(script: str) -> Path:
    """Run ``services/<script>`` (it installs the service if missing) and return the binary it prints."""
    try:
        done = subprocess.run(["bash", str(HERE / script)], capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ServiceUnavailable(f"{script} could not run: {e}") from e
    if done.returncode != 0:
        raise ServiceUnavailable(f"{script} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    binary = Path(done.stdout.strip().splitlines()[-1])
    if not binary.is_file():
        raise ServiceUnavailable(f"{script} printed {binary}, which is not a file")
    return binary


def _wait_for_port(process: subprocess.Popen[bytes], port: int, name: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")[-2000:]
            raise ServiceUnavailable(f"{name} exited with {process.returncode}: {output}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    stop_process(process)
    raise ServiceUnavailable(f"{name} did not listen on 127.0.0.1:{port} within {START_TIMEOUT:.0f} s")


def stop_process(process: subprocess.Popen[bytes], *, timeout: float = 10.0) -> None:
    """SIGTERM the process group the process leads (by its PID), then SIGKILL it if still there after ``timeout``."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout)
    except ProcessLookupError:
        process.wait()
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def _service(name: str, command: Sequence[str], port: int, workdir: Path) -> Iterator[RunningService]:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=workdir, start_new_session=True)
    try:
        _wait_for_port(process, port, name, log)
        yield RunningService(name, process.pid, port, log)
    finally:
        stop_process(process)


@contextmanager
def redis_server(workdir: Path, *, port: int | None = None, append_only: bool = False) -> Iterator[RunningService]:
    """A redis-server on 127.0.0.1 (a free port unless given): no snapshots, files in ``workdir``; an
    append-only file there only with ``append_only`` (so a restart on the same folder keeps the data)."""
    binary = install("install-redis.sh")
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    command = [str(binary), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
               "--appendonly", "yes" if append_only else "no", "--appendfsync", "always",
               "--dir", str(workdir), "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning"]
    with _service("redis-server", command, port, workdir) as service:
        yield service


@contextmanager
def azurite_blob(workdir: Path) -> Iterator[RunningService]:
    """Azurite's Blob service on 127.0.0.1, its data in ``workdir``."""
    binary = install("install-azurite.sh")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(workdir),
               "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"]
    with _service("azurite-blob", command, port, workdir) as service:
        yield service
