"""Settling 1M available entries into statements: the app's run against one raw SQL statement.

Creates its own database (`tm_settlement_bench`, dropped at the end unless --keep) and roles,
migrates it, loads --rows available entries for --beneficiaries beneficiaries of one tenant
(80% consumer-promoters, who have tax withheld, 20% stores; about 2% below the minimum payout,
so carry-forward runs too) with COPY as the superuser, then alternates, --rounds times:

- **app**: `app.distribution.statements.settle` as the app role (RLS on, system scope of the
  tenant): INSERT ... SELECT statements, one UPDATE of the entries, totals from the rows,
  carry-forward, withholding from the bracket table, status; then COMMIT;
- **raw**: one equivalent statement by hand, also as the app role: a data-modifying CTE that
  inserts the statements with their totals (one GROUP BY) and updates the entries with their
  statement id; then COMMIT. No withholding, no carry-forward: the floor of the same job.

Between runs the entries go back to available (statements and the rows a run added deleted,
VACUUM ANALYZE, not timed). Prints each run and the median of the per-round ratios app/raw.

Usage: .venv/bin/python bench/settlement_batch.py [--rows 1000000] [--beneficiaries 20000]
       [--rounds 2] [--keep]
"""

import argparse
import io
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import benchdb  # noqa: E402

from app.db import uuid7  # noqa: E402

DB = "tm_settlement_bench"
ADMIN_URL, OWNER_URL, APP_URL = benchdb.urls(DB)
SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
AVAILABLE_AT = datetime(2026, 11, 25, 12, tzinfo=UTC)
NOW = datetime(2026, 12, 2, 1, tzinfo=UTC)
PERIOD_START, PERIOD_END = datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
RUN_KEY = "weekly:2026-11-23"

COLUMNS = ("tenant_id", "id", "owner_path", "beneficiary_kind", "beneficiary_id", "beneficiary_org_id",
           "beneficiary_consumer_id", "kind", "role", "base_minor", "amount_minor", "currency", "status",
           "available_at", "source_key", "created_at")


def load(rows: int, beneficiaries: int) -> uuid.UUID:
    """A tenant, a brand and 200 stores, and `rows` available entries (COPY, as the superuser)."""
    tenant_id, brand_id = uuid7(), uuid7()
    stores = [uuid7() for _ in range(200)]
    engine = create_engine(ADMIN_URL)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO tenants (id, slug, name, currency, settings, created_at)"
                                " VALUES (:t, 'bench', 'Bench', 'CNY', '{}', now())"), {"t": tenant_id})
        connection.execute(text("INSERT INTO orgs (tenant_id, id, kind, name, path, depth, active,"
                                " created_at) VALUES (:t, :b, 'brand', 'Brand', :p, 0, true, now())"),
                           {"t": tenant_id, "b": brand_id, "p": f"/{brand_id}/"})
        connection.execute(text(
            "INSERT INTO orgs (tenant_id, id, kind, name, parent_id, path, depth, active, created_at)"
            " VALUES (:t, :s, 'store', 'Store', :b, :p, 1, true, now())"),
            [{"t": tenant_id, "s": s, "b": brand_id, "p": f"/{brand_id}/{s}/"} for s in stores])
    rng = random.Random(7)
    payees = []
    for n in range(beneficiaries):
        store = stores[n % len(stores)]
        path = f"/{brand_id}/{store}/"
        if n % 5 == 0:
            payees.append(("org", store, store, None, path)) if n < len(stores) * 5 else None
        if len(payees) <= n:
            consumer = uuid7()
            payees.append(("consumer", consumer, store, consumer, path))
    small = set(rng.sample(range(len(payees)), len(payees) // 50))
    buffer = io.StringIO()
    created = NOW.isoformat()
    for i in range(rows):
        b = i % len(payees)
        kind, beneficiary, org, consumer, path = payees[b]
        amount = 1 if b in small else rng.randint(50, 20_000)
        entry_kind, role = ("takings", "store_takings") if kind == "org" else ("commission", "promoter_l1")
        buffer.write("\t".join((str(tenant_id), str(uuid7()), path, kind, str(beneficiary), str(org),
                                str(consumer) if consumer else r"\N", entry_kind, role, str(amount * 10),
                                str(amount), "CNY", "available", AVAILABLE_AT.isoformat(), f"bench:{i}",
                                created)) + "\n")
    buffer.seek(0)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor, cursor.copy(
                f"COPY distribution_entries ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE distribution_entries"))
    engine.dispose()
    return tenant_id


def reset(tenant_id: uuid.UUID) -> None:
    """Back to `available`, the statements and the rows a run added gone (not timed)."""
    engine = create_engine(ADMIN_URL)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM distribution_entries WHERE tenant_id = :t"
                                " AND source_key NOT LIKE 'bench:%'"), {"t": tenant_id})
        connection.execute(text("UPDATE distribution_entries SET status = 'available', statement_id = NULL"
                                " WHERE tenant_id = :t"), {"t": tenant_id})
        connection.execute(text("DELETE FROM distribution_statements WHERE tenant_id = :t"), {"t": tenant_id})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE distribution_entries"))
        connection.execute(text("VACUUM ANALYZE distribution_statements"))
    engine.dispose()


def run_app(engine, tenant_id: uuid.UUID) -> tuple[float, int]:
    from app.distribution.settlement_models import StatementKind
    from app.distribution.statements import settle, settlement_settings
    from app.tenancy.elevation import Why, enter_scope
    from app.tenancy.scope import system_scope

    with Session(engine) as session:
        enter_scope(session, Why.task, scope=system_scope(tenant_id))
        session.execute(text("SELECT 1"))  # BEGIN and the scope's settings, not timed
        started = time.perf_counter()
        result = settle(session, tenant_id=tenant_id, settings=settlement_settings(session, tenant_id),
                        kind=StatementKind.period, key=RUN_KEY, period_start=PERIOD_START,
                        period_end=PERIOD_END)
        session.commit()
        return time.perf_counter() - started, result.entries


RAW = text("""
WITH made AS (
  INSERT INTO distribution_statements (tenant_id, id, owner_path, kind, run_key, beneficiary_kind,
    beneficiary_id, beneficiary_org_id, beneficiary_consumer_id, currency, period_start, period_end,
    status, entry_count, takings_minor, commission_minor, fee_minor, other_minor, gross_minor,
    withholding_minor, net_minor, payout_attempts, created_at, updated_at)
  SELECT tenant_id, gen_random_uuid(), max(owner_path), 'period', :key, beneficiary_kind, beneficiary_id,
    beneficiary_org_id, beneficiary_consumer_id, currency, :start, :end, 'pending_approval', count(*),
    sum(CASE WHEN kind = 'takings' THEN amount_minor ELSE 0 END),
    sum(CASE WHEN kind = 'commission' THEN amount_minor ELSE 0 END),
    sum(CASE WHEN kind = 'fee' THEN amount_minor ELSE 0 END), 0, sum(amount_minor), 0, sum(amount_minor),
    0, now(), now()
  FROM distribution_entries
  WHERE tenant_id = :t AND status = 'available' AND statement_id IS NULL AND available_at < :end
  GROUP BY tenant_id, beneficiary_kind, beneficiary_id, beneficiary_org_id, beneficiary_consumer_id, currency
  ON CONFLICT DO NOTHING
  RETURNING id, beneficiary_kind, beneficiary_id, currency)
UPDATE distribution_entries e SET status = 'settled', statement_id = made.id
FROM made
WHERE e.tenant_id = :t AND e.status = 'available' AND e.statement_id IS NULL AND e.available_at < :end
  AND e.beneficiary_kind = made.beneficiary_kind AND e.beneficiary_id = made.beneficiary_id
  AND e.currency = made.currency
""")


def run_raw(engine, tenant_id: uuid.UUID) -> tuple[float, int]:
    from app.tenancy.elevation import Why, enter_scope
    from app.tenancy.scope import system_scope

    with Session(engine) as session:
        enter_scope(session, Why.task, scope=system_scope(tenant_id))
        session.execute(text("SELECT 1"))
        started = time.perf_counter()
        count = session.execute(RAW, {"t": tenant_id, "key": RUN_KEY, "start": PERIOD_START,
                                      "end": PERIOD_END}).rowcount
        session.commit()
        return time.perf_counter() - started, count


def main(argv: list[str] | None = None) -> dict[str, float]:
    """{"ratio": median of the per-round app / raw, "app" and "raw": each side's median seconds}."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--beneficiaries", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    import app.models  # noqa: F401  (every table)

    benchdb.recreate_database(DB, SECRET)
    try:
        started = time.perf_counter()
        tenant_id = load(args.rows, args.beneficiaries)
        print(f"loaded {args.rows:,} entries for {args.beneficiaries:,} beneficiaries "
              f"in {time.perf_counter() - started:.1f} s")
        engine = create_engine(APP_URL)
        ratios, sides = [], {"app": [], "raw": []}
        for round_no in range(1, args.rounds + 1):
            times = {}
            for name, run in (("app", run_app), ("raw", run_raw)) if round_no % 2 else (
                    ("raw", run_raw), ("app", run_app)):
                reset(tenant_id)
                seconds, settled = run(engine, tenant_id)
                assert settled == args.rows, (name, settled)
                times[name] = seconds
                sides[name].append(seconds)
                print(f"round {round_no} {name:>3}: {seconds:6.2f} s  ({settled / seconds:,.0f} entries/s)")
            ratios.append(times["app"] / times["raw"])
        print(f"app/raw, median of {len(ratios)} rounds: {statistics.median(ratios):.2f}x (target <= 2x)")
        engine.dispose()
        return {"ratio": statistics.median(ratios), **{name: statistics.median(values)
                                                        for name, values in sides.items()}}
    finally:
        if not args.keep:
            benchdb.drop_database(DB, roles=True)


def quick() -> list[tuple]:
    """For bench/run.py: 100k entries for 2,000 beneficiaries (the default: 1M for 20,000, the same 50
    entries each), two rounds."""
    result = main(["--rows", "100000", "--beneficiaries", "2000", "--rounds", "2"])
    return [("settlement settle() / one raw statement (100k entries)", round(result["ratio"], 2), "<= 2",
             result["ratio"] <= 2),
            ("settlement settle(), entries/s (median)", round(100_000 / result["app"]), "info", None)]


if __name__ == "__main__":
    main()
