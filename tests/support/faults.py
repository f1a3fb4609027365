"""Faults on demand for the broker tests and the fault drill: a Redis of our own, a supervised worker.

Loopback only. The Redis runs without persistence on a port of its own, so that stopping,
freezing (SIGSTOP: it accepts connections and never answers) and restarting it touches nothing
else on the machine.
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port(start: int = 6390, end: int = 6490) -> int:
    for port in range(start, end):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}..{end}")


class RedisServer:
    """redis-server on 127.0.0.1:port, no persistence; refuse (stop), hang (freeze), restart."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.frozen = False

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                return self
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        """Kill it: connections are refused until start()."""
        if self.process is not None:
            if self.frozen:
                self.thaw()
            self.process.kill()
            self.process.wait()
            self.process = None

    def freeze(self) -> None:
        """SIGSTOP: the kernel still accepts connections, nothing answers."""
        os.kill(self.process.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)
        self.frozen = False


class SupervisedWorker:
    """scripts/worker.sh: a Celery worker that is restarted whenever it exits."""

    def __init__(self, env: dict, queue: str, log_path: Path):
        self.env, self.queue, self.log_path = env, queue, log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> "SupervisedWorker":
        self.log = open(self.log_path, "w")  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(
            ["bash", "scripts/worker.sh", "--pool=solo", "-Q", self.queue],
            cwd=REPO_ROOT, env={**self.env, "RESTART_DELAY": "0.5"}, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def celery_pid(self, timeout: float = 10, *, other_than: int | None = None) -> int:
        """The pid of the celery process the supervisor runs now (a new one: `other_than` a killed pid)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            children = [int(pid) for pid in subprocess.run(
                ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout.split()]
            children = [pid for pid in children if pid != other_than]  # a killed one lingers until reaped
            if children:
                return children[0]
            time.sleep(0.1)
        raise RuntimeError("the supervisor runs no (new) celery process")

    def kill_celery(self) -> int:
        """kill -9 the celery process (not the supervisor); returns its pid."""
        pid = self.celery_pid()
        os.kill(pid, signal.SIGKILL)
        return pid

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None
        self.log.close()
