"""Checkout with level + coupon + points vs a plain checkout, side by side in one run (issue 10).

Reuses bench/checkout.py (its database, seed, gunicorn and client loop). Half the consumers are
gold members (10 % level discount) holding points and a stack of 满减 coupons; the other half are
not members. Both runs post the same 3-line retail orders to POST /storefront/orders for the same
time; the membership run adds `coupon_id` (a fresh coupon each time) and `points`. Prints orders/s,
p50/p99, the time ratio (target <= 1.25) and SQL statements per checkout, counted in-process on
one order of each kind.

Usage: .venv/bin/python bench/checkout_membership.py [--seconds 20] [--clients 16] [--workers 4]
"""

import argparse
import collections
import os
import random
import sys
import threading
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchdb  # noqa: E402
import checkout as base  # noqa: E402
from statements import statements_sent, summary  # noqa: E402

base.DB = DB = "tm_checkout_membership_bench"
base.ADMIN_URL, base.OWNER_URL, base.APP_URL = benchdb.urls(DB)
base.PORT = 8767
COUPONS_PER_MEMBER = 400


def seed_membership(shop: dict) -> dict:
    """A program with a gold level; the first half of the consumers gold members with points and coupons."""
    from datetime import timedelta

    from app.db import utcnow, uuid7
    from app.membership.coupon_models import Coupon, CouponKind, CouponTemplate
    from app.membership.models import LotStatus, Member, MemberLevel, MembershipProgram, PointsLot
    from app.tenancy.models import Consumer

    engine = create_engine(base.ADMIN_URL)
    tenant_id = shop["tenant_id"]
    members = shop["consumer_ids"][: len(shop["consumer_ids"]) // 2]
    with Session(engine) as session:
        brand_path = shop["store_path"].rsplit("/", 2)[0] + "/"
        program = MembershipProgram(tenant_id=tenant_id, id=uuid7(), owner_path=brand_path, currency="CNY",
                                    points_per_unit=100, max_points_share_bp=5000, points_expiry="never")
        session.add(program)
        session.flush()
        gold = MemberLevel(tenant_id=tenant_id, id=uuid7(), owner_path=brand_path, program_id=program.id,
                           code="gold", name="Gold", rank=1, growth_threshold=0, retention_threshold=0,
                           discount_bp=1000, points_multiplier_pct=150, free_shipping_min_minor=None,
                           birthday_gift_points=0, exclusive_coupon_template_ids=[])
        template = CouponTemplate(tenant_id=tenant_id, id=uuid7(), owner_path=brand_path, name="满100减10",
                                  kind=CouponKind.amount_off, amount_off_minor=1000, min_goods_minor=10000,
                                  valid_days=30, per_member_limit=COUPONS_PER_MEMBER, issued_count=0,
                                  sku_ids=[])
        session.add_all([gold, template])
        session.flush()
        now, coupons = utcnow(), {}
        for consumer_id in members:
            path = session.get(Consumer, (tenant_id, consumer_id)).owner_path
            member = Member(tenant_id=tenant_id, id=uuid7(), owner_path=path, consumer_id=consumer_id,
                            level_id=gold.id, growth=0, points_available=10_000_000, points_pending=0,
                            points_debt=0)
            session.add(member)
            session.flush()
            session.add(PointsLot(tenant_id=tenant_id, id=uuid7(), owner_path=path, consumer_id=consumer_id,
                                  member_id=member.id, status=LotStatus.available, origin="adjust",
                                  points=10_000_000, remaining=10_000_000, available_at=now,
                                  source_key=f"bench:{consumer_id}"))
            rows = [{"tenant_id": tenant_id, "id": uuid7(), "owner_path": path, "template_id": template.id,
                     "consumer_id": consumer_id, "seq": seq, "status": "available", "valid_from": now,
                     "valid_to": now + timedelta(days=30), "created_at": now}
                    for seq in range(1, COUPONS_PER_MEMBER + 1)]
            session.execute(Coupon.__table__.insert(), rows)
            coupons[consumer_id] = collections.deque(row["id"] for row in rows)
        session.commit()
    engine.dispose()
    return {"members": members, "plain": shop["consumer_ids"][len(members):], "coupons": coupons}


def run(shop: dict, people: list, seconds: float, clients: int, *, coupons: dict | None) -> dict:
    """base.run's loop with a body per request: the membership run takes a fresh coupon each time."""
    deadline = time.perf_counter() + seconds
    latencies, errors, lock = [], collections.Counter(), threading.Lock()
    take = threading.Lock()

    def client(number: int) -> None:
        http, rng = requests.Session(), random.Random(number)
        mine, failed = [], collections.Counter()
        while time.perf_counter() < deadline:
            consumer_id, token = people[rng.randrange(len(people))]
            body = {"lines": [{"sku_id": sku, "qty": rng.randint(1, 3)}
                              for sku in rng.sample(shop["sku_ids"], 3)], "delivery": "pickup"}
            if coupons is not None:
                with take:
                    body |= {"coupon_id": str(coupons[consumer_id].popleft()), "points": 500}
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
            started = time.perf_counter()
            url = f"http://127.0.0.1:{base.PORT}/storefront/orders"
            response = http.post(url, json=body, headers=headers)
            elapsed = time.perf_counter() - started
            if response.status_code in (200, 201):
                mine.append(elapsed)
            else:
                failed[response.status_code] += 1
        with lock:
            latencies.extend(mine)
            errors.update(failed)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {"rps": len(latencies) / wall, "count": len(latencies), "errors": dict(errors),
            "mean": 1000 * sum(latencies) / len(latencies) if latencies else float("nan"),
            "p50": 1000 * latencies[len(latencies) // 2] if latencies else float("nan"),
            "p99": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")}


def statements_per_checkout(shop: dict, extra: dict, people: dict) -> dict[str, int]:
    """SQL statements of one order of each kind, counted in-process against the bench database
    by the listener bench/checkout.py and tests/api/test_checkout_budget.py use; the outbox
    relay the order enqueues is a worker's job, not the request's (as in bench/checkout.py)."""
    os.environ.update({"DATABASE_URL": base.APP_URL, "SECRET_KEY": base.SECRET, "TIERMALL_ENV": "bench"})
    from app import create_app
    from app.extensions import db
    from app.platform import outbox

    app = create_app({"SQLALCHEMY_DATABASE_URI": base.APP_URL, "SECRET_KEY": base.SECRET})
    counts = {}
    relay, outbox._enqueue_relay = outbox._enqueue_relay, lambda session, tenant_id: None
    try:
        with app.app_context():
            client = app.test_client()
            for name, (consumer_id, token) in people.items():
                for warm in (True, False):  # the first order warms the caches (tenant terms, SKU names)
                    body = {"lines": [{"sku_id": sku, "qty": 1} for sku in shop["sku_ids"][:3]],
                            "delivery": "pickup"}
                    if name == "membership":
                        body |= {"coupon_id": str(extra["coupons"][consumer_id].popleft()), "points": 500}
                    with statements_sent(db.engine) as sent:
                        response = client.post("/storefront/orders", json=body, headers={
                            "Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex})
                    assert response.status_code == 201, response.get_json()
                    if not warm:
                        counts[name] = len(sent)
                        print(f"statements of one {name} checkout:\n{summary(sent)}", flush=True)
            db.engine.dispose()
    finally:
        outbox._enqueue_relay = relay
    return counts


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    from app.auth.tokens import issue_access_token

    print(f"building {DB} (migrations, seed) ...", flush=True)
    benchdb.recreate_database(DB, base.SECRET)
    shop = base.seed()
    extra = seed_membership(shop)
    benchdb.analyze(DB)

    def tokens(ids):
        return [(c, issue_access_token(base.SECRET, ttl_seconds=3600, tenant_id=shop["tenant_id"], subject=c,
                                       kind="consumer")) for c in ids]

    members, plain = tokens(extra["members"]), tokens(extra["plain"])
    counts = statements_per_checkout(shop, extra, {"plain": plain[0], "membership": members[0]})
    broker = base.broker_url()
    print(f"gunicorn: {args.workers} sync workers; broker: {broker or 'none (eager relay)'}; "
          f"{len(members)} gold members with coupons and points, {len(plain)} plain consumers", flush=True)
    server = base.start_gunicorn(args.workers, broker)
    try:
        run(shop, plain, 3, args.clients, coupons=None)  # warm-up
        run(shop, members, 3, args.clients, coupons=extra["coupons"])
        results = {}
        for _ in range(2):  # interleaved, so machine load hits both alike
            for name, people, coupons in (("plain", plain, None), ("membership", members, extra["coupons"])):
                result = run(shop, people, args.seconds / 2, args.clients, coupons=coupons)
                results.setdefault(name, []).append(result)
    finally:
        server.terminate()
        server.wait(timeout=30)
    summary = {}
    for name, rounds in results.items():
        count = sum(r["count"] for r in rounds)
        rps = sum(r["rps"] for r in rounds) / len(rounds)
        mean = sum(r["mean"] * r["count"] for r in rounds) / count
        summary[name] = rps, mean
        print(f"{name:11s} {rps:7.1f} orders/s  mean {mean:6.1f} ms  p50 {rounds[-1]['p50']:6.1f} ms  "
              f"p99 {max(r['p99'] for r in rounds):6.1f} ms  n={count}  "
              f"errors={[r['errors'] for r in rounds]}  statements/checkout={counts[name]}")
    ratio = summary["membership"][1] / summary["plain"][1]
    print(f"time per checkout, membership / plain: {ratio:.2f} (target <= 1.25); "
          f"throughput ratio {summary['plain'][0] / summary['membership'][0]:.2f}; "
          f"statements {counts['membership']} vs {counts['plain']}")
    if not args.keep:
        benchdb.drop_database(DB)
    return {"ratio": ratio, "statements": counts}


def quick() -> list[tuple]:
    """For bench/run.py: 8 s a side (2 interleaved slices), 16 clients, 4 workers."""
    result = main(["--seconds", "16"])
    statements = result["statements"]
    member = statements["membership"]
    return [("member checkout (level, coupon, points): statements", member, "<= 12", member <= 12),
            ("member / plain time per checkout", round(result["ratio"], 2), "<= 1.25",
             result["ratio"] <= 1.25)]


if __name__ == "__main__":
    main()
