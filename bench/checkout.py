"""Checkout throughput through HTTP: gunicorn workers, PostgreSQL as the app role (RLS on).

Creates its own database and roles, migrates and seeds it, starts gunicorn on 127.0.0.1, then
16 client threads place 3-line retail orders for ~20 s a side against the checkout and the two
ceiling endpoints (the same writes, no business logic: the issue's, stock one line at a time, and
a lean one, stock in checkout's one CTE; bench/checkout_app.py), in 4 alternating slices each so
that every side sees the same load. Prints the statements of each, orders/s, p50/p99, the ratios.

Usage: .venv/bin/python bench/checkout.py [--seconds 20] [--clients 16] [--workers 4] [--keep]
Needs the postgres superuser on 127.0.0.1:5432; uses Redis db 15 as the Celery broker when it
answers (so the outbox relay is enqueued, not run inline), else the eager default.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import benchdb  # noqa: E402
from statements import statements_sent, summary  # noqa: E402

from app.auth.tokens import issue_access_token  # noqa: E402

DB = "tm_checkout_bench"
ADMIN_URL, OWNER_URL, APP_URL = benchdb.urls(DB)
SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
PORT = 8765
SKUS, CONSUMERS, STOCK = 30, 200, 10_000_000
PATHS = ("/storefront/orders", "/bench/ceiling", "/bench/ceiling-lean")
BUDGET = 8  # statements of a plain checkout (held by tests/api/test_checkout_budget.py; issue: <= 12)




def seed() -> dict:
    """One tenant, a brand and a store selling SKUS SKUs with plenty of stock, CONSUMERS members."""
    import app.models  # noqa: F401
    from app.catalog import stock
    from app.catalog.models import PriceChannel, PriceEntry, Product, Sku, StoreAssortment
    from app.db import utcnow, uuid7
    from app.tenancy.enums import OrgKind
    from app.tenancy.models import Consumer, Org, Tenant

    engine = create_engine(ADMIN_URL)
    with Session(engine) as session:
        tenant = Tenant(id=uuid7(), slug="bench", name="Bench", currency="CNY", settings={})
        brand_id, store_id = uuid7(), uuid7()
        brand = Org(tenant_id=tenant.id, id=brand_id, kind=OrgKind.brand, name="Brand",
                    path=f"/{brand_id}/", depth=0)
        store = Org(tenant_id=tenant.id, id=store_id, kind=OrgKind.store, name="Store",
                    parent_id=brand_id, path=f"/{brand_id}/{store_id}/", depth=1)
        product = Product(tenant_id=tenant.id, id=uuid7(), owner_path=brand.path, name="Tea")
        for batch in ([tenant], [brand], [store, product]):
            session.add_all(batch)
            session.flush()
        skus = [Sku(tenant_id=tenant.id, id=uuid7(), owner_path=brand.path, product_id=product.id,
                    code=f"B-{n}", name=f"Tea {n}") for n in range(SKUS)]
        session.add_all(skus)
        session.flush()
        for sku in skus:
            session.add(PriceEntry(tenant_id=tenant.id, id=uuid7(), owner_path=brand.path,
                                   seller_org_id=brand.id, sku_id=sku.id, channel=PriceChannel.retail,
                                   amount_minor=12800, effective_from=utcnow()))
            session.add(StoreAssortment(tenant_id=tenant.id, id=uuid7(), owner_path=store.path,
                                        store_id=store.id, sku_id=sku.id))
            session.flush()
            stock.add_initial(session, tenant_id=tenant.id, org=store, sku_id=sku.id, qty=STOCK)
        consumers = [Consumer(tenant_id=tenant.id, id=uuid7(), home_store_id=store.id,
                              owner_path=store.path) for _ in range(CONSUMERS)]
        session.add_all(consumers)
        session.commit()
        shop = {"tenant_id": tenant.id, "store_id": store.id, "store_path": store.path,
                "sku_ids": [str(sku.id) for sku in skus], "consumer_ids": [c.id for c in consumers]}
    engine.dispose()
    return shop


def count_statements(shop: dict, tokens: list[str]) -> dict[str, int]:
    """Statements of one plain 3-line checkout and of one ceiling call, in-process (same app,
    same database), counted by the listener tests/api/test_checkout_budget.py uses; printed."""
    os.environ.update({"DATABASE_URL": APP_URL, "SECRET_KEY": SECRET, "TIERMALL_ENV": "bench",
                       "TIERMALL_BENCH": "1"})
    import checkout_app  # noqa: PLC0415  (builds the app from the environment set above)

    from app.extensions import db  # noqa: PLC0415
    from app.platform import outbox  # noqa: PLC0415

    relay, outbox._enqueue_relay = outbox._enqueue_relay, lambda session, tenant_id: None  # a worker's job
    counts = {}
    try:
        with checkout_app.app.app_context():
            client = checkout_app.app.test_client()
            for path in PATHS:
                for _ in ("warm-up", "counted"):
                    body = {"lines": [{"sku_id": sku, "qty": 1} for sku in shop["sku_ids"][:3]],
                            "delivery": "pickup"}
                    if path.startswith("/bench/"):
                        body |= {"store_id": str(shop["store_id"]), "store_path": shop["store_path"]}
                    headers = {"Authorization": f"Bearer {tokens[0]}", "Idempotency-Key": uuid.uuid4().hex}
                    with statements_sent(db.engine) as sent:
                        response = client.post(path, json=body, headers=headers)
                    assert response.status_code == 201, response.get_json()
                counts[path] = len(sent)
                print(f"statements of one {path} (after a warm-up): {len(sent)}\n{summary(sent)}", flush=True)
            db.engine.dispose()
    finally:
        outbox._enqueue_relay = relay
    return counts


def start_gunicorn(workers: int, broker: str | None) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": APP_URL, "SECRET_KEY": SECRET, "TIERMALL_ENV": "bench",
           "TIERMALL_BENCH": "1"}
    if broker:
        env["CELERY_BROKER_URL"] = broker
    log = open("/tmp/tm_checkout_bench.log", "w")  # noqa: SIM115  (gunicorn writes it until terminated)
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{PORT}",
         "--access-logfile", "/dev/null", "bench.checkout_app:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{PORT}/healthz", timeout=10)
            return process
        except requests.RequestException:
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError("gunicorn did not start; see /tmp/tm_checkout_bench.log")


def run(path: str, shop: dict, tokens: list[str], seconds: float, clients: int) -> dict:
    """`clients` threads posting 3-line orders to `path` for `seconds`; latencies of 2xx answers."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors: dict[int, int] = {}
    lock = threading.Lock()

    def client(number: int) -> None:
        http = requests.Session()
        rng = random.Random(number)
        mine, failed = [], {}
        while time.perf_counter() < deadline:
            token = tokens[rng.randrange(len(tokens))]
            body = {"lines": [{"sku_id": sku, "qty": rng.randint(1, 3)}
                              for sku in rng.sample(shop["sku_ids"], 3)], "delivery": "pickup"}
            if path.startswith("/bench/"):
                body |= {"store_id": str(shop["store_id"]), "store_path": shop["store_path"]}
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
            started = time.perf_counter()
            response = http.post(f"http://127.0.0.1:{PORT}{path}", json=body, headers=headers)
            elapsed = time.perf_counter() - started
            if response.status_code in (200, 201):
                mine.append(elapsed)
            else:
                failed[response.status_code] = failed.get(response.status_code, 0) + 1
        with lock:
            latencies.extend(mine)
            for status, count in failed.items():
                errors[status] = errors.get(status, 0) + count

    started, cpu_before = time.perf_counter(), cpu_by_process_kind()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu = {kind: seconds - cpu_before.get(kind, 0.0) for kind, seconds in cpu_by_process_kind().items()}
    return summarise(latencies, time.perf_counter() - started, errors) | {"cpu": cpu}


KINDS = {"gunicorn": "app", "postgres": "postgres", "redis-server": "redis"}


def cpu_by_process_kind() -> dict[str, float]:
    """CPU seconds used so far by the app workers, PostgreSQL, Redis and this client process
    (Linux /proc), to say where an order's CPU goes on the shared 2 cores."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kind = "client" if stat.parent.name == str(os.getpid()) else next(
            (kind for marker, kind in KINDS.items() if marker in command), None)
        if kind:
            totals[kind] = totals.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return totals


def summarise(latencies: list[float], wall: float, errors: dict) -> dict:
    latencies = sorted(latencies)
    return {"rps": len(latencies) / wall, "count": len(latencies), "errors": errors, "wall": wall,
            "latencies": latencies,
            "p50": 1000 * statistics.median(latencies) if latencies else float("nan"),
            "p99": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")}


def alternate(shop: dict, tokens: list[str], seconds: float, clients: int, rounds: int) -> tuple[dict, ...]:
    """Checkout and the ceilings in alternating slices, so that every side sees the same load drift."""
    parts: dict[str, list[dict]] = {path: [] for path in PATHS}
    for _ in range(rounds):
        for path, results in parts.items():
            results.append(run(path, shop, tokens, seconds / rounds, clients))
    combined = []
    for results in parts.values():
        errors: dict[int, int] = {}
        for result in results:
            for status, count in result["errors"].items():
                errors[status] = errors.get(status, 0) + count
        cpu: dict[str, float] = {}
        for result in results:
            for kind, seconds in result["cpu"].items():
                cpu[kind] = cpu.get(kind, 0.0) + seconds
        combined.append(summarise([x for r in results for x in r["latencies"]],
                                  sum(r["wall"] for r in results), errors) | {"cpu": cpu})
    return tuple(combined)


def broker_url() -> str | None:
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping()
        return "redis://127.0.0.1:6379/15"
    except Exception:
        return None


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=4, help="alternating slices per side")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args(argv)
    print(f"building {DB} (migrations, seed) ...", flush=True)
    benchdb.recreate_database(DB, SECRET)
    shop = seed()
    benchdb.analyze(DB)
    tokens = [issue_access_token(SECRET, ttl_seconds=3600, tenant_id=shop["tenant_id"], subject=consumer,
                                 kind="consumer") for consumer in shop["consumer_ids"]]
    counts = count_statements(shop, tokens)
    broker = broker_url()
    print(f"gunicorn: {args.workers} sync workers; broker: {broker or 'none (eager relay)'}", flush=True)
    server = start_gunicorn(args.workers, broker)
    try:
        for path in PATHS:  # warm-up: imports, pools, plans
            run(path, shop, tokens, 3, args.clients)
        checkout, ceiling, lean = alternate(shop, tokens, args.seconds, args.clients, args.rounds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    for name, result in (("checkout (3 lines)", checkout), ("ceiling (issue's, per line)", ceiling),
                         ("lean ceiling (one CTE)", lean)):
        per_order = "  ".join(f"{kind} {1000 * seconds / max(result['count'], 1):.1f}"
                              for kind, seconds in sorted(result["cpu"].items()))
        print(f"{name:28s} {result['rps']:7.1f} orders/s  p50 {result['p50']:6.1f} ms  "
              f"p99 {result['p99']:6.1f} ms  n={result['count']}  errors={result['errors']}\n"
              f"{'':28s} CPU ms per order: {per_order}")
    ratio, lean_ratio = checkout["rps"] / ceiling["rps"], checkout["rps"] / lean["rps"]
    print(f"ratio checkout / ceiling: {ratio:.2f}, / lean ceiling: {lean_ratio:.2f} (target >= 0.8);"
          f" statements per checkout {counts['/storefront/orders']} (budget {BUDGET}), ceilings"
          f" {counts['/bench/ceiling']} and {counts['/bench/ceiling-lean']}")
    if not args.keep:
        benchdb.drop_database(DB)
    return {"ratio": ratio, "lean_ratio": lean_ratio, "statements": counts["/storefront/orders"],
            "checkout": checkout, "ceiling": ceiling, "lean": lean}


def quick() -> list[tuple]:
    """For bench/run.py: 16 s per side in 4 alternating slices, 16 clients, 4 workers."""
    result = main(["--seconds", "16", "--rounds", "4"])
    return [("plain checkout: statements per order", result["statements"], f"<= {BUDGET}",
             result["statements"] <= BUDGET),
            ("checkout / ceiling orders/s (the issue's ceiling)", round(result["ratio"], 2), ">= 0.8",
             result["ratio"] >= 0.8),
            ("checkout / lean ceiling orders/s (one-CTE stock)", round(result["lean_ratio"], 2), ">= 0.8",
             result["lean_ratio"] >= 0.8)]


if __name__ == "__main__":
    main()
