"""Distribution benchmarks: the commission release against one raw UPDATE, and what accrual adds to payment.

1. Release: `accrual.release_due` (the beat task's work: batches of one UPDATE each, as the app
   role under RLS in the tenant's system scope) moves N frozen entries to available; the
   baseline is ONE raw `UPDATE ... WHERE status = 'frozen' AND available_at <= now()` with the
   same role and settings. Runs alternate (raw, app, raw, app), each after a reset and VACUUM
   ANALYZE (not timed); the figure is best app / best raw. Target: <= 2.0.
2. Accrual: a paid order's processing = mark it paid + relay its outbox (journal, payments,
   distribution handlers), one transaction. Orders with a five-beneficiary commission snapshot are
   processed alternately with the distribution handlers wired and without them; the figure is
   median with / median without - 1. Target: <= 20%.

    .venv/bin/python bench/distribution_batch.py [--rows 1000000] [--orders 200] [--keep]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import benchdb  # noqa: E402

DB = "tiermall_bench_distribution"
SECRET = "bench-secret-key-0123456789abcdef-0123456789"


def build_app(app_url: str):
    # No statement timeout: the raw baseline is one statement over every row (the app's 15 s
    # default cancels it at 1M rows on a loaded machine, which is why release_due works in batches).
    os.environ.update({"DATABASE_URL": app_url, "SECRET_KEY": SECRET, "TIERMALL_ENV": "test",
                       "DB_STATEMENT_TIMEOUT_MS": "0"})
    from app import create_app  # noqa: PLC0415

    return create_app()


def seed_world(admin_url: str, orders: int):
    """A tenant, a bound buyer with a two-level upline, a plan for every role, 2×orders placed orders."""
    from app.distribution import bindings, plans, promoters  # noqa: PLC0415
    from app.distribution.models import BindingSource  # noqa: PLC0415
    from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of  # noqa: PLC0415
    from tests.integration.test_orders_fixtures import retail_order, stocked_catalog  # noqa: PLC0415

    with Session(create_engine(admin_url)) as session:
        net = make_tenant(session, settings={"distribution": {"promoter_mode": "open"}})
        catalog = stocked_catalog(session, net, on_hand=1_000_000, price=9_900)
        upper, lower, buyer = (add_consumer(session, net, "jingan") for _ in range(3))
        top = promoters.apply(session, consumer_scope_of(session, upper))
        mid = promoters.apply(session, consumer_scope_of(session, lower))
        bindings.bind(session, consumer_scope_of(session, lower), code=top.code, source=BindingSource.qr_code)
        bindings.bind(session, consumer_scope_of(session, buyer), code=mid.code, source=BindingSource.qr_code)
        plans.create_plan(session, scope_of(session, net, "brand"), name="bench", rules=[
            {"role": "promoter_l1", "rate_bp": 1000}, {"role": "promoter_l2", "rate_bp": 500},
            {"role": "home_store", "rate_bp": 300},
            {"role": "distributor", "org_id": net.org("shanghai").id, "rate_bp": 800},
            {"role": "distributor", "org_id": net.org("east").id, "rate_bp": 1200}])
        scope = consumer_scope_of(session, buyer)
        ids = [retail_order(session, scope, catalog, 1, 2).order.id for _ in range(2 * orders)]
        session.commit()
        return net.tenant.id, [(order_id, 9_900 * 3) for order_id in ids]


def bench_accrual(app, tenant_id, orders) -> tuple[float, float]:
    from app.bootstrap import event_handlers  # noqa: PLC0415
    from app.extensions import db  # noqa: PLC0415
    from app.orders.payment_hooks import mark_paid  # noqa: PLC0415
    from app.platform import outbox  # noqa: PLC0415
    from app.tenancy.elevation import run_as_system  # noqa: PLC0415

    full = event_handlers({"gateway": lambda: None})
    without = {event: [(key, h) for key, h in handlers if not key.startswith("app.distribution.")]
               for event, handlers in full.items()}
    times = {True: [], False: []}
    with app.app_context():
        outbox.wire(full)
        run_as_system(db.session, tenant_id)
        db.session.info["relay_enqueued_for"] = {tenant_id}
        while outbox.relay_pending(db.session, tenant_id=tenant_id):  # the placements' events, not timed
            db.session.commit()
        db.session.commit()
        db.session.remove()
        for number, (order_id, amount) in enumerate(orders):
            with_distribution = number % 2 == 0
            outbox.wire(full if with_distribution else without)
            session = db.session
            session.info["relay_enqueued_for"] = {tenant_id}
            started = time.perf_counter()
            run_as_system(session, tenant_id)
            mark_paid(session, tenant_id=tenant_id, order_id=order_id, amount_minor=amount,
                      payment_ref=f"pi_bench_{number}", method="stripe")
            while outbox.relay_pending(session, tenant_id=tenant_id):
                pass
            session.commit()
            times[with_distribution].append(time.perf_counter() - started)
            db.session.remove()
        outbox.wire(full)
    return statistics.median(times[True]), statistics.median(times[False])


def load_entries(admin_url: str, tenant_id, rows: int) -> None:
    """N frozen commission entries, due yesterday, owned by the tenant's stores (generate_series)."""
    engine = create_engine(admin_url)
    with engine.begin() as connection:
        connection.execute(text("""
            INSERT INTO distribution_entries (tenant_id, id, owner_path, beneficiary_kind, beneficiary_id,
              beneficiary_org_id, beneficiary_consumer_id, kind, role, base_minor, amount_minor, currency,
              status, available_at, source_key, created_at)
            WITH stores AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(path ORDER BY id) AS paths
                            FROM orgs WHERE tenant_id = :t AND kind = 'store')
            SELECT :t, gen_random_uuid(), s.paths[1 + g % 3], 'org', s.ids[1 + g % 3], s.ids[1 + g % 3],
                   NULL, 'commission', 'home_store', 1000, 30, 'CNY', 'frozen', now() - interval '1 day',
                   'bench:' || g, now()
            FROM generate_series(1, :rows) g, stores s"""), {"rows": rows, "t": tenant_id})
    vacuum(admin_url)
    engine.dispose()


def vacuum(admin_url: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE distribution_entries"))
    engine.dispose()


def reset(admin_url: str, tenant_id) -> None:
    engine = create_engine(admin_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE distribution_entries SET status = 'frozen' WHERE tenant_id = :t"
                                " AND source_key LIKE 'bench:%'"), {"t": tenant_id})
    engine.dispose()
    vacuum(admin_url)


def timed_release(app, tenant_id, *, raw: bool) -> tuple[float, int]:
    from app.distribution.accrual import release_due  # noqa: PLC0415
    from app.extensions import db  # noqa: PLC0415
    from app.tenancy.elevation import run_as_system  # noqa: PLC0415

    with app.app_context():
        session = db.session
        run_as_system(session, tenant_id)
        session.execute(text("SELECT 1"))  # BEGIN and the scope's settings, not timed
        started = time.perf_counter()
        if raw:
            moved = session.execute(text(
                "UPDATE distribution_entries SET status = 'available' WHERE tenant_id = :t"
                " AND status = 'frozen' AND available_at <= now()"), {"t": tenant_id}).rowcount
        else:
            moved = release_due(session, tenant_id=tenant_id)
        session.commit()
        elapsed = time.perf_counter() - started
        db.session.remove()
    return elapsed, moved


def main(argv: list[str] | None = None) -> dict[str, float]:
    """{"accrual": with / without - 1 (medians), "release": best release_due / best raw UPDATE}."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=200, help="orders per side of the accrual comparison")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    benchdb.recreate_database(DB, SECRET)
    admin, _, app_url = benchdb.urls(DB)
    try:
        app = build_app(app_url)
        with app.app_context():
            tenant_id, orders = seed_world(admin, args.orders)
        with_d, without_d = bench_accrual(app, tenant_id, orders)
        print(f"accrual: {args.orders} paid orders per side, 2 lines, 5 beneficiaries per line")
        print(f"  median paid-order processing without distribution {without_d * 1000:.1f} ms,"
              f" with {with_d * 1000:.1f} ms: +{(with_d / without_d - 1) * 100:.1f}% (target <= 20%)")

        started = time.perf_counter()
        load_entries(admin, tenant_id, args.rows)
        print(f"release: {args.rows:,} frozen entries loaded in {time.perf_counter() - started:.1f} s")
        results = {True: [], False: []}
        for raw in (True, False, True, False):
            reset(admin, tenant_id)
            elapsed, moved = timed_release(app, tenant_id, raw=raw)
            assert moved >= args.rows, moved
            results[raw].append(elapsed)
            print(f"  {'raw UPDATE ' if raw else 'release_due'}: {moved:,} rows in {elapsed:.2f} s")
        ratio = min(results[False]) / min(results[True])
        print(f"  best release_due / best raw UPDATE = {ratio:.2f} (target <= 2.0)")
        return {"accrual": with_d / without_d - 1, "release": ratio}
    finally:
        if not args.keep:
            benchdb.drop_database(DB, roles=True)


def quick() -> list[tuple]:
    """For bench/run.py: 100k frozen entries (the default is 1M) and 50 paid orders a side (200)."""
    environ = dict(os.environ)  # build_app sets the app's variables here: keep them from the next bench
    try:
        result = main(["--rows", "100000", "--orders", "50"])
    finally:
        os.environ.clear()
        os.environ.update(environ)
    release, accrual = result["release"], result["accrual"]
    return [("distribution release_due / one raw UPDATE (100k entries)", round(release, 2), "<= 2.0",
             release <= 2.0),
            ("distribution accrual: paid-order processing added, %", round(accrual * 100, 1), "<= 20",
             accrual <= 0.20)]


if __name__ == "__main__":
    main()
