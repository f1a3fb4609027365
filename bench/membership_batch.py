"""Membership batches against one raw SQL statement: expire lots, release pending lots, re-evaluate levels.

    .venv/bin/python bench/membership_batch.py                  # 1M lots, 100k members
    .venv/bin/python bench/membership_batch.py --lots 100000 --members 10000 --batch 50000

Builds a throwaway database (bench/benchdb.py), loads one tenant's members, growth entries and lots
with COPY as the superuser, then for each job times, as the app role under RLS in the tenant's
system scope:
- raw: one UPDATE statement doing the job's core change to every due row at once, rolled back;
- app: the scheduled path (app.membership.batches) batch after batch, each batch committed, as the
  beat task runs it (its extra work included: member totals, journal entry, batch tagging).
Rows are reset and VACUUM ANALYZEd between runs; raw and app alternate, so both share the load.
"""

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app.db import uuid7  # noqa: E402
from app.tenancy import rls  # noqa: E402,F401  (installs the per-transaction RLS settings)
from app.tenancy.scope import current_scope, set_current_scope, system_scope  # noqa: E402
from bench.benchdb import drop_database, recreate_database, urls  # noqa: E402

DB = "tiermall_bench_membership"
NOW = datetime.now(UTC)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--growth-per-member", type=int, default=3)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args(argv)


def copy_rows(connection, table: str, columns: list[str], rows) -> None:
    raw = connection.connection.dbapi_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(admin_url: str, args) -> uuid.UUID:
    """A tenant, its brand and a store, members with growth, and `--lots` lots (half per job)."""
    engine = create_engine(admin_url)
    tenant_id, brand_id, store_id = uuid7(), uuid7(), uuid7()
    brand_path, store_path = f"/{brand_id}/", f"/{brand_id}/{store_id}/"
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO tenants (id, slug, name, currency, settings, created_at)"
                                " VALUES (:t, 'bench', 'Bench', 'CNY', '{}', now())"), {"t": tenant_id})
        for org_id, kind, path, parent, depth in ((brand_id, "brand", brand_path, None, 0),
                                                  (store_id, "store", store_path, brand_id, 1)):
            connection.execute(text(
                "INSERT INTO orgs (tenant_id, id, kind, name, path, parent_id, depth, active, created_at)"
                " VALUES (:t, :i, :k, :k, :p, :parent, :d, true, now())"),
                {"t": tenant_id, "i": org_id, "k": kind, "p": path, "parent": parent, "d": depth})
        program_id = uuid7()
        connection.execute(text(
            "INSERT INTO membership_programs (tenant_id, id, owner_path, created_at, updated_at, active,"
            " currency, growth_window_months, grace_days, return_window_days, points_expiry, points_per_unit,"
            " max_points_share_bp, earn_points_per_unit, growth_per_unit)"
            " VALUES (:t, :i, :p, now(), now(), true, 'CNY', 12, 30, 7, 'end_of_year', 100, 5000, 1, 1)"),
            {"t": tenant_id, "i": program_id, "p": brand_path})
        levels = []
        for rank, (code, threshold, keep) in enumerate((("silver", 0, 0), ("gold", 1_000, 600),
                                                         ("platinum", 5_000, 3_000))):
            level_id = uuid7()
            levels.append(level_id)
            connection.execute(text(
                "INSERT INTO member_levels (tenant_id, id, owner_path, created_at, program_id, code, name,"
                " rank, growth_threshold, retention_threshold, discount_bp, points_multiplier_pct,"
                " birthday_gift_points, exclusive_coupon_template_ids)"
                " VALUES (:t, :i, :p, now(), :prog, :c, :c, :r, :g, :k, 0, 100, 0, '[]')"),
                {"t": tenant_id, "i": level_id, "p": brand_path, "prog": program_id, "c": code, "r": rank,
                 "g": threshold, "k": keep})
        rng = random.Random(7)
        consumers = [uuid7() for _ in range(args.members)]
        members = [uuid7() for _ in range(args.members)]
        t = tenant_id
        copy_rows(connection, "consumers", ["tenant_id", "id", "owner_path", "created_at", "home_store_id"],
                  ((t, c, store_path, NOW, store_id) for c in consumers))
        copy_rows(connection, "members", [
            "tenant_id", "id", "owner_path", "created_at", "consumer_id", "level_id", "growth", "level_since",
            "grace_until", "points_available", "points_pending", "points_debt"],
            ((t, m, store_path, NOW, c, rng.choice(levels), rng.randrange(8_000), NOW - timedelta(days=400),
              NOW - timedelta(days=1) if rng.random() < 0.2 else None, 10**9, 10**9, 0)
             for m, c in zip(members, consumers, strict=True)))
        copy_rows(connection, "growth_entries", [
            "tenant_id", "id", "owner_path", "created_at", "consumer_id", "member_id", "amount", "reason",
            "source_key"],
            ((t, uuid7(), store_path, NOW - timedelta(days=rng.randrange(700)), consumers[i % args.members],
              members[i % args.members], rng.randrange(2_500), "bench", f"g{i}")
             for i in range(args.members * args.growth_per_member)))
        half = args.lots // 2

        def lot(i: int, status: str):
            m = i % args.members
            return (t, uuid7(), store_path, NOW, consumers[m], members[m], status, "earn", 100, 100, 0, 0, 0,
                    NOW - timedelta(days=1), NOW - timedelta(hours=1) if status == "available" else None,
                    f"l{status}{i}")

        copy_rows(connection, "points_lots", [
            "tenant_id", "id", "owner_path", "created_at", "consumer_id", "member_id", "status", "origin",
            "points", "remaining", "expired_points", "reversed_points", "written_off_points", "available_at",
            "expires_at", "source_key"],
            (lot(i, "available" if i < half else "pending") for i in range(args.lots)))
    vacuum(admin_url)
    engine.dispose()
    return tenant_id


def vacuum(admin_url: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE points_lots, members, growth_entries"))
    engine.dispose()


def reset(admin_url: str, tenant_id: uuid.UUID) -> None:
    """Every lot back to its loaded state (available past expiry / pending past the window)."""
    engine = create_engine(admin_url)
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(
            "UPDATE points_lots SET status = CASE WHEN source_key LIKE 'lavailable%' THEN 'available'"
            " ELSE 'pending' END, remaining = points, expired_points = 0, batch_id = NULL"
            " WHERE tenant_id = :t AND (status <> CASE WHEN source_key LIKE 'lavailable%' THEN 'available'"
            " ELSE 'pending' END OR batch_id IS NOT NULL)"), {"t": tenant_id})
        connection.execute(text("DELETE FROM journal_lines WHERE tenant_id = :t"), {"t": tenant_id})
        connection.execute(text("DELETE FROM journal_entries WHERE tenant_id = :t"), {"t": tenant_id})
    engine.dispose()
    vacuum(admin_url)


RAW = {
    "expire": ("UPDATE points_lots SET status = 'expired', expired_points = remaining, remaining = 0"
               " WHERE tenant_id = :t AND status = 'available' AND expires_at <= :now"),
    "release": ("UPDATE points_lots SET status = 'available'"
                " WHERE tenant_id = :t AND status = 'pending' AND available_at <= :now"),
    # the same job as one statement that also keeps the member totals (a data-modifying CTE)
    "expire+totals": (
        "WITH gone AS (UPDATE points_lots SET status = 'expired', expired_points = remaining, remaining = 0"
        " WHERE tenant_id = :t AND status = 'available' AND expires_at <= :now"
        " RETURNING member_id, expired_points)"
        " UPDATE members SET points_available = points_available - s.points"
        " FROM (SELECT member_id, SUM(expired_points) AS points FROM gone GROUP BY member_id) s"
        " WHERE members.tenant_id = :t AND members.id = s.member_id"),
    "release+totals": (
        "WITH ready AS (UPDATE points_lots SET status = 'available'"
        " WHERE tenant_id = :t AND status = 'pending' AND available_at <= :now"
        " RETURNING member_id, remaining)"
        " UPDATE members SET points_pending = points_pending - s.points,"
        " points_available = points_available + s.points"
        " FROM (SELECT member_id, SUM(remaining) AS points FROM ready GROUP BY member_id) s"
        " WHERE members.tenant_id = :t AND members.id = s.member_id"),
    "reevaluate": (
        "UPDATE members SET growth = g.growth, evaluated_at = :now, level_id = CASE"
        " WHEN g.growth >= 5000 THEN (SELECT id FROM member_levels WHERE tenant_id = :t AND rank = 2)"
        " WHEN g.growth >= 1000 THEN (SELECT id FROM member_levels WHERE tenant_id = :t AND rank = 1)"
        " ELSE (SELECT id FROM member_levels WHERE tenant_id = :t AND rank = 0) END"
        " FROM (SELECT m.id AS member_id, COALESCE(SUM(e.amount), 0) AS growth FROM members m"
        " LEFT JOIN growth_entries e ON e.tenant_id = m.tenant_id AND e.member_id = m.id"
        " AND e.created_at >= :since WHERE m.tenant_id = :t GROUP BY m.id) g"
        " WHERE members.tenant_id = :t AND members.id = g.member_id"),
}


def time_raw(app_url: str, tenant_id: uuid.UUID, job: str) -> tuple[float, int]:
    engine = create_engine(app_url)
    set_current_scope(system_scope(tenant_id))
    with Session(engine) as session:
        started = time.perf_counter()
        result = session.execute(text(RAW[job]), {"t": tenant_id, "now": NOW + timedelta(minutes=1),
                                                  "since": NOW - timedelta(days=365)})
        elapsed = time.perf_counter() - started
        rows = result.rowcount
        session.rollback()
    engine.dispose()
    return elapsed, rows


def time_app(app_url: str, tenant_id: uuid.UUID, job: str, batch: int) -> tuple[float, int]:
    from app.membership.batches import expire_batch, reevaluate_batch, release_batch  # noqa: PLC0415

    engine = create_engine(app_url)
    set_current_scope(system_scope(tenant_id))
    now = NOW + timedelta(minutes=1)
    total = 0
    started = time.perf_counter()
    with Session(engine) as session:
        if job == "reevaluate":
            after = None
            while True:
                done = reevaluate_batch(session, tenant_id, after=after, now=now, limit=batch)
                session.commit()
                if done.last_id is None:
                    break
                total, after = total + done.members, done.last_id
        else:
            run = expire_batch if job == "expire" else release_batch
            while moved := run(session, tenant_id, now=now, limit=batch):
                session.commit()
                total += moved // 100  # lots of 100 points
            session.commit()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, total


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """{job: {raw side: median app / raw}}, e.g. {"expire": {"expire": 2.1, "expire+totals": 1.8}, ...}."""
    args = parse_args(argv)
    results: dict[str, dict[str, float]] = {}
    admin, _, app = urls(DB)
    recreate_database(DB, "bench-secret-" + "x" * 40)
    try:
        started = time.perf_counter()
        tenant_id = load(admin, args)
        print(f"loaded {args.members:,} members, {args.members * args.growth_per_member:,} growth entries,"
              f" {args.lots:,} lots in {time.perf_counter() - started:.1f} s; app batches of {args.batch:,}",
              flush=True)
        for job in ("expire", "release", "reevaluate"):
            raws = [job] if job == "reevaluate" else [job, f"{job}+totals"]
            ratios: dict[str, list[float]] = {raw: [] for raw in raws}
            for run in range(args.runs):
                sides = ["app", *raws] if run % 2 else [*raws, "app"]
                times = {}
                for side in sides:
                    reset(admin, tenant_id)
                    elapsed, rows = (time_app(app, tenant_id, job, args.batch) if side == "app"
                                     else time_raw(app, tenant_id, side))
                    times[side] = elapsed
                    print(f"  {side:<15} {elapsed:7.2f} s  rows {rows:,}", flush=True)
                for raw in raws:
                    ratios[raw].append(times["app"] / times[raw])
            for raw, values in ratios.items():
                results.setdefault(job, {})[raw] = statistics.median(values)
                print(f"{job}: app / raw '{raw}' = {statistics.median(values):.2f} (runs: "
                      f"{', '.join(f'{r:.2f}' for r in values)}; target <= 2)", flush=True)
    finally:
        if not args.keep:
            drop_database(DB, roles=True)
    return results


def quick() -> list[tuple]:
    """For bench/run.py: 100k lots over 10k members in batches of 5k (the full run: 1M, 100k, 50k), so
    each lot job still takes ten batches and each member holds five of its lots; two runs a side."""
    scope = current_scope()  # the timed sides set this process's scope: the next bench must not inherit it
    try:
        results = main(["--lots", "100000", "--members", "10000", "--batch", "5000", "--runs", "2"])
    finally:
        set_current_scope(scope)
    rows = []
    for job, label in (("expire", "expire lots"), ("release", "release pending"),
                       ("reevaluate", "re-evaluate levels")):
        ratio = results[job][job]
        rows.append((f"membership {label}: app / one raw UPDATE", round(ratio, 2), "<= 2", ratio <= 2))
        if f"{job}+totals" in results[job]:
            with_totals = results[job][f"{job}+totals"]
            rows.append((f"membership {label}: app / raw UPDATE + totals", round(with_totals, 2),
                         "info", None))
    return rows


if __name__ == "__main__":
    main()
