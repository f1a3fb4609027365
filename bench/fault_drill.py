"""Fault drill: writes through gunicorn while the broker refuses, hangs, and the worker is killed.

Loopback only, bounded in time (about two minutes with the defaults). Creates its own database
and roles, its own Redis (tests/support/faults.py: no persistence, its own port), gunicorn on
127.0.0.1, a supervised worker and beat (scripts/worker.sh). Client threads create orgs (each
write commits one outbox event that the audit handler relays) through five phases:

  baseline · broker refused (Redis killed) · broker hung (Redis SIGSTOPped) ·
  worker killed (kill -9, twice; the supervisor restarts it) · recovery (load stops, lag drains)

Per phase it prints requests, errors, latency (p50/p99/max), the outbox lag read from /readyz
(pending events, age of the oldest) and the log lines the phase wrote; at the end, whether every
event was relayed exactly once (one audit row and one receipt per event).

Usage: .venv/bin/python bench/fault_drill.py [--phase-seconds 20] [--clients 4] [--workers 3] [--keep]
Needs the postgres superuser on 127.0.0.1:5432 and redis-server on the PATH.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import benchdb  # noqa: E402

from app.auth.tokens import issue_access_token  # noqa: E402
from tests.support.faults import RedisServer, SupervisedWorker, free_port  # noqa: E402

DB = "tm_fault_drill"
ADMIN_URL, OWNER_URL, APP_URL = benchdb.urls(DB)
SECRET = "drill-secret-key-0123456789-abcdefghijklmnop"
REQUEST_TIMEOUT = 35  # above gunicorn's 30 s worker timeout: we want to see it if it happens






def seed() -> dict:
    """One tenant: the brand root and its owner (no password: the drill signs its own token)."""
    import app.models  # noqa: F401
    from app.db import uuid7
    from app.tenancy import network
    from app.tenancy.enums import Role
    from app.tenancy.models import User

    engine = create_engine(APP_URL)
    with Session(engine, expire_on_commit=False) as session:
        tenant, brand = network.create_tenant(session, slug="drill", name="Drill")
        user = User(tenant_id=tenant.id, id=uuid7(), org_id=brand.id, owner_path=brand.path,
                    email="owner@drill.example", name="Owner", password_hash="-", role=Role.owner)
        session.add(user)
        session.commit()
    engine.dispose()
    token = issue_access_token(SECRET, ttl_seconds=3600, tenant_id=tenant.id, subject=user.id,
                               kind="staff", org_id=brand.id, role="owner")
    return {"tenant_id": tenant.id, "brand_id": brand.id, "token": token}


class Log:
    """A subprocess log file; `since()` is what was written after the last mark."""

    def __init__(self, path: Path):
        self.path, self.offset = path, 0

    def since(self) -> str:
        with open(self.path, errors="replace") as file:
            file.seek(self.offset)
            chunk = file.read()
        self.offset += len(chunk.encode())
        return chunk


class Load:
    """Client threads creating orgs; every result is recorded with the phase it ended in."""

    def __init__(self, base: str, shop: dict, clients: int):
        self.base, self.shop, self.clients = base, shop, clients
        self.phase = "setup"
        self.results: list[tuple[str, int | str, float]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(clients)]

    def _client(self, number: int) -> None:
        http = requests.Session()
        headers = {"Authorization": f"Bearer {self.shop['token']}"}
        n = 0
        while not self.stopping.is_set():
            n += 1
            body = {"parent_id": str(self.shop["brand_id"]), "kind": "distributor", "name": f"D {number}-{n}"}
            started = time.perf_counter()
            try:
                outcome: int | str = http.post(f"{self.base}/network/orgs", json=body, headers=headers,
                                               timeout=REQUEST_TIMEOUT).status_code
            except requests.RequestException as error:
                outcome = type(error).__name__
            with self.lock:
                self.results.append((self.phase, outcome, time.perf_counter() - started))

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)


def readyz(base: str) -> dict:
    try:
        return requests.get(f"{base}/readyz", timeout=5).json().get("outbox", {})
    except (requests.RequestException, ValueError):
        return {}


def watch(base: str, seconds: float, samples: list, until_drained: bool = False) -> float:
    """Sample /readyz every 0.5 s for `seconds` (or until nothing is pending); returns the time spent."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        outbox = readyz(base)
        samples.append(outbox)
        if until_drained and outbox.get("pending") == 0:
            break
        time.sleep(0.5)
    return time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * (len(values) - 1)))] if values else float("nan")


def report(name: str, load: Load, samples: list, logs: dict[str, str], seconds: float) -> None:
    rows = [r for r in load.results if r[0] == name]
    ok = sorted(latency for _, outcome, latency in rows if outcome == 201)
    errors: dict = {}
    for _, outcome, _ in rows:
        if outcome != 201:
            errors[outcome] = errors.get(outcome, 0) + 1
    every = sorted(latency for _, _, latency in rows)
    pending = [s.get("pending") for s in samples if isinstance(s.get("pending"), int)]
    ages = [s.get("oldest_pending_age_seconds") or 0 for s in samples if "pending" in s]
    warnings = sum(text.count("broker publish failed") for text in logs.values())
    tracebacks = "/".join(str(logs[name].count("Traceback")) for name in ("gunicorn", "worker", "beat"))
    log_kb = sum(len(text.encode()) for text in logs.values()) / 1024
    worst = 1000 * max(every, default=float("nan"))
    print(f"{name:15} {seconds:5.1f}s  req {len(rows):5} ({len(ok) / seconds:4.1f} ok/s)  "
          f"errors {errors or 0}  "
          f"p50 {1000 * statistics.median(every) if every else float('nan'):6.0f} ms  "
          f"p99 {1000 * percentile(every, 0.99):6.0f} ms  max {worst:6.0f} ms  "
          f"lag max {max(pending, default=0):5} ev / {max(ages, default=0):5.1f}s  "
          f"publish warnings {warnings}  tracebacks api/worker/beat {tracebacks}  log {log_kb:.0f} KB",
          flush=True)


def exactly_once(tenant_id: uuid.UUID) -> dict:
    engine = create_engine(ADMIN_URL)
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE relayed_at IS NULL), count(*) FILTER (WHERE dead_at"
            " IS NOT NULL) FROM outbox_events WHERE tenant_id = :t"), {"t": tenant_id}).one()
        audit = connection.scalar(text("SELECT count(*) FROM audit_log WHERE tenant_id = :t"),
                                  {"t": tenant_id})
        receipts = connection.scalar(text("SELECT count(*) FROM processed_events WHERE tenant_id = :t"),
                                     {"t": tenant_id})
        orgs = connection.scalar(text("SELECT count(*) FROM orgs WHERE tenant_id = :t"), {"t": tenant_id})
    engine.dispose()
    return {"events": row[0], "pending": row[1], "dead": row[2], "audit_rows": audit,
            "receipts": receipts, "orgs": orgs}


def start_gunicorn(port: int, workers: int, broker: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": APP_URL, "SECRET_KEY": SECRET, "TIERMALL_ENV": "bench",
           "CELERY_BROKER_URL": broker}
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "30",
         "wsgi:app"], cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
    for _ in range(200):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not start; see {log}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase-seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    phase_seconds = args.phase_seconds

    workdir = Path(tempfile.mkdtemp(prefix="tm_fault_drill_"))
    print(f"logs in {workdir}", flush=True)
    benchdb.recreate_database(DB, SECRET)
    shop = seed()
    redis_server = RedisServer().start()
    port = free_port(8770, 8870)
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": APP_URL, "SECRET_KEY": SECRET, "CELERY_BROKER_URL": redis_server.url,
           "PYTHON": sys.executable}
    gunicorn = start_gunicorn(port, args.workers, redis_server.url, workdir / "gunicorn.log")
    worker = SupervisedWorker(env, "celery", workdir / "worker.log").start()
    beat = subprocess.Popen(["bash", "scripts/worker.sh", "-s", str(workdir / "beat-schedule")], cwd=ROOT,
                            env={**env, "ROLE": "beat"}, stdout=open(workdir / "beat.log", "w"),  # noqa: SIM115
                            stderr=subprocess.STDOUT, start_new_session=True)
    logs = {name: Log(workdir / f"{name}.log") for name in ("gunicorn", "worker", "beat")}
    load = Load(base, shop, args.clients)
    print(f"gunicorn {args.workers} sync workers on {base}; {args.clients} clients; Redis {redis_server.url};"
          f" phases of {phase_seconds:.0f}s", flush=True)
    try:
        while "ready." not in worker.output():
            time.sleep(0.2)
        load.start()

        def phase(name: str, seconds: float, until_drained: bool = False) -> None:
            load.phase = name
            for log in logs.values():
                log.since()
            samples: list = []
            spent = watch(base, seconds, samples, until_drained)
            report(name, load, samples, {n: log.since() for n, log in logs.items()}, spent)

        load.phase = "warm-up"  # the first requests of each gunicorn worker import and connect
        warm_until = time.monotonic() + 60
        while (time.monotonic() < warm_until
               and sum(1 for result in load.results if result[1] == 201) < 4 * args.clients):
            time.sleep(0.2)
        phase("baseline", phase_seconds)
        redis_server.stop()
        phase("broker refused", phase_seconds)
        redis_server.start()
        redis_server.freeze()
        phase("broker hung", phase_seconds)
        redis_server.thaw()
        load.phase = "worker killed"
        killed = [worker.kill_celery()]
        threading.Timer(phase_seconds / 2, lambda: killed.append(worker.kill_celery())).start()
        phase("worker killed", phase_seconds)
        load.stop()
        phase("recovery", 3 * phase_seconds, until_drained=True)
        result = exactly_once(shop["tenant_id"])
        once = (result["pending"] == 0 and result["dead"] == 0
                and result["events"] == result["audit_rows"] == result["receipts"])
        print(f"worker restarts by the supervisor: {worker.output().count('exited with status')}"
              f" (killed pids {killed})", flush=True)
        print(f"outcome: {result}; every event relayed exactly once: {once}", flush=True)
        failed = sum(1 for outcome in load.results if outcome[1] != 201)
        return {"once": once, "failed": failed, "requests": len(load.results)}
    finally:
        load.stopping.set()
        for process in (beat, gunicorn):
            process.terminate()
            process.wait(timeout=20)
        worker.stop()
        redis_server.stop()
        if not args.keep:
            benchdb.drop_database(DB, roles=True)


def quick() -> list[tuple]:
    """For bench/run.py: phases of 8 s (about 1.5 minutes)."""
    result = main(["--phase-seconds", "8"])
    return [("requests failed through broker and worker faults", result["failed"], "0",
             result["failed"] == 0),
            ("every outbox event relayed exactly once", str(result["once"]), "True", result["once"])]


if __name__ == "__main__":
    main()
