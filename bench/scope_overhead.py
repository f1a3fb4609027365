"""What RLS costs: the same scoped queries as the app role through the policy, and by hand as a
role that bypasses RLS (the superuser), on an orders-like table of >= 1M rows.

Usage: .venv/bin/python bench/scope_overhead.py [--rows 1000000] [--reuse] [--keep]
Creates (and by default drops at the end) its own database; needs the postgres superuser.
"""

import argparse
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.tenancy.enums import Dataset  # noqa: E402
from app.tenancy.rls import FUNCTIONS_SQL, enable_rls_sql, subtree_predicate  # noqa: E402

OWNER, APP = "tiermall_bench_owner", "tiermall_bench_app"

TABLE_SQL = """
CREATE TABLE orders (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    owner_path text COLLATE "C" NOT NULL
        CHECK (owner_path LIKE '/%/' AND owner_path NOT LIKE '%~%'),
    created_at timestamptz NOT NULL,
    amount_minor bigint NOT NULL,
    PRIMARY KEY (tenant_id, id)
)
"""
INDEX_SQL = [
    "CREATE INDEX orders_scope ON orders (tenant_id, owner_path, created_at)",
    "CREATE INDEX orders_latest ON orders (tenant_id, created_at)",
]
# Without it the planner multiplies the selectivities of tenant_id = t and the path range as if
# independent (a brand's range already implies its tenant): ~100x too few rows, and "latest 50"
# sorts the whole subtree instead of walking (tenant_id, created_at) backwards.
EXTENDED_STATS_SQL = [
    "CREATE STATISTICS orders_scope_mcv (mcv) ON tenant_id, owner_path FROM orders",
    "ALTER STATISTICS orders_scope_mcv SET STATISTICS 2000",
]
SCOPE_FILTER = "tenant_id = %(t)s AND owner_path >= %(p)s AND owner_path < %(p)s || '~'"
QUERIES = {
    "latest 50": f"SELECT id, owner_path, created_at, amount_minor FROM orders WHERE {SCOPE_FILTER}"
                 " ORDER BY created_at DESC LIMIT 50",
    "month total": f"SELECT sum(amount_minor) FROM orders WHERE {SCOPE_FILTER}"
                   " AND created_at >= %(m)s",
}
SET_SCOPE = ("SELECT set_config('app.tenant_id', %(t)s, true), set_config('app.org_path', %(p)s, true),"
             " set_config('app.more_orders', '', true)")


@dataclass
class Org:
    tenant_id: uuid.UUID
    path: str
    kind: str  # brand | distributor | sub-distributor | store
    rows: int = 0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a superuser connection to the server")
    parser.add_argument("--db", default="tiermall_bench")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=6, help="orgs timed per depth")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per org, query and role")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--plan-cache-modes", default="auto,force_custom_plan",
                        help="PostgreSQL plan_cache_mode values to measure, comma-separated")
    parser.add_argument("--no-extended-stats", dest="extended_stats", action="store_false",
                        help="skip the (tenant_id, owner_path) MCV statistics (shows the misestimate)")
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded database")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    return parser.parse_args(argv)


# --- the network -----------------------------------------------------------------------------

def zipf_weights(n: int, s: float) -> list[float]:
    raw = [1 / (k + 1) ** s for k in range(n)]
    return [w / sum(raw) for w in raw]


def build_network(rng: random.Random, tenants: int, orgs: int) -> list[Org]:
    """Brand → distributors → sub-distributors → stores per tenant; tenants of Zipf-skewed size."""
    network = []
    for budget_share in zipf_weights(tenants, 0.5):
        tenant_id = uuid.UUID(int=rng.getrandbits(128))
        n = max(6, round(orgs * budget_share))
        brand = Org(tenant_id, f"/{uuid.UUID(int=rng.getrandbits(128))}/", "brand")
        distributors = [child(rng, brand, "distributor") for _ in range(max(2, round(n * 0.12)))]
        subs = [child(rng, rng.choice(distributors), "sub-distributor")
                for _ in range(round(n * 0.1))]
        stores = [child(rng, rng.choice(distributors + subs), "store")
                  for _ in range(n - 1 - len(distributors) - len(subs))]
        network += [brand, *distributors, *subs, *stores]
    return network


def child(rng: random.Random, parent: Org, kind: str) -> Org:
    return Org(parent.tenant_id, f"{parent.path}{uuid.UUID(int=rng.getrandbits(128))}/", kind)


def owners_of_rows(rng: random.Random, network: list[Org], tenants: int, rows: int) -> list[Org]:
    """Rows per tenant by Zipf; in a tenant 90% to stores, 10% to distributors, Pareto-skewed."""
    by_tenant: dict[uuid.UUID, list[Org]] = {}
    for org in network:
        by_tenant.setdefault(org.tenant_id, []).append(org)
    owners = []
    for share, orgs in zip(zipf_weights(tenants, 1.0), by_tenant.values(), strict=True):
        count = round(rows * share)
        stores = [o for o in orgs if o.kind == "store"]
        middle = [o for o in orgs if o.kind in ("distributor", "sub-distributor")]
        for group, part in ((stores, 0.9), (middle, 0.1)):
            weights = [rng.paretovariate(1.2) for _ in group]
            owners += rng.choices(group, weights, k=round(count * part))
    for org in owners:
        org.rows += 1
    return owners


# --- the database ----------------------------------------------------------------------------

def conninfo(args, user: str | None = None, dbname: str | None = None) -> str:
    extra = {"dbname": dbname or args.db}
    if user:
        extra["user"] = user
    return make_conninfo(args.server, **extra)


def create_database(args) -> None:
    with psycopg.connect(args.server, autocommit=True) as admin:
        for role in (OWNER, APP):
            exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            admin.execute(sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS").format(
                sql.SQL(verb), sql.Identifier(role)))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(args.db)))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(args.db), sql.Identifier(OWNER)))


def load(args, rng: random.Random, network: list[Org]) -> float:
    """Schema as the owner, rows by COPY before RLS is switched on, then indexes, RLS, ANALYZE."""
    owners = owners_of_rows(rng, network, args.tenants, args.rows)
    rng.shuffle(owners)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with psycopg.connect(conninfo(args, OWNER)) as owner:
        owner.execute(FUNCTIONS_SQL)
        owner.execute(TABLE_SQL)
        with owner.cursor().copy(
                "COPY orders (tenant_id, id, owner_path, created_at, amount_minor) FROM STDIN") as copy:
            for org in owners:
                copy.write_row((org.tenant_id, uuid.UUID(int=rng.getrandbits(128)), org.path,
                                now - timedelta(seconds=rng.random() * 365 * 86400),
                                rng.randint(100, 500_000)))
        for statement in INDEX_SQL + (EXTENDED_STATS_SQL if args.extended_stats else []) + enable_rls_sql(
                "orders", subtree_predicate("owner_path", Dataset.orders, None)):
            owner.execute(statement)
        owner.execute(sql.SQL("GRANT SELECT ON orders TO {}").format(sql.Identifier(APP)))
        owner.execute("CREATE TABLE bench_orgs (tenant_id uuid, path text, kind text)")
        with owner.cursor().copy("COPY bench_orgs FROM STDIN") as copy:
            for org in network:
                copy.write_row((org.tenant_id, org.path, org.kind))
        owner.commit()
        owner.autocommit = True
        owner.execute("VACUUM ANALYZE orders")
    return time.perf_counter() - started


def read_network(args) -> list[Org]:
    """The orgs and their row counts, read back from a loaded database (for --reuse)."""
    with psycopg.connect(conninfo(args)) as admin:
        counts = dict(admin.execute("SELECT owner_path, count(*) FROM orders GROUP BY 1").fetchall())
        return [Org(tenant_id, path, kind, counts.get(path, 0)) for tenant_id, path, kind
                in admin.execute("SELECT tenant_id, path, kind FROM bench_orgs").fetchall()]


# --- timing ----------------------------------------------------------------------------------

def subtree_rows(network: list[Org], org: Org) -> int:
    return sum(o.rows for o in network if o.tenant_id == org.tenant_id and o.path.startswith(org.path))


def sample(rng: random.Random, network: list[Org], kind: str, k: int) -> list[Org]:
    """The heaviest org of this kind plus random others."""
    candidates = [o for o in network if o.kind == kind and subtree_rows(network, o) > 0]
    heaviest = max(candidates, key=lambda o: subtree_rows(network, o))
    others = rng.sample([o for o in candidates if o is not heaviest], min(k - 1, len(candidates) - 1))
    return [heaviest, *others]


def timed(connection, query: str, params: dict, scoped: bool) -> float:
    with connection.cursor() as cursor:
        if scoped:
            cursor.execute(SET_SCOPE, {"t": str(params["t"]), "p": params["p"]}, prepare=True)
        started = time.perf_counter()
        cursor.execute(query, params, prepare=True)
        cursor.fetchall()
        elapsed = time.perf_counter() - started
    connection.commit()
    return elapsed


def measure(args, rng: random.Random, network: list[Org], plan_cache_mode: str) -> dict:
    """Median latency per depth and query, RLS vs bypass, runs interleaved to share the noise."""
    month_start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    results = {}
    with psycopg.connect(conninfo(args, APP)) as app, psycopg.connect(conninfo(args)) as bypass:
        for connection in (app, bypass):
            connection.execute(sql.SQL("SET plan_cache_mode = {}").format(sql.Literal(plan_cache_mode)))
            connection.commit()
        for depth in ("brand", "distributor", "store"):
            orgs = sample(rng, network, depth, args.samples)
            for name, query in QUERIES.items():
                times = {"rls": [], "bypass": []}
                for org in orgs:
                    params = {"t": org.tenant_id, "p": org.path, "m": month_start}
                    for run in range(args.runs + 2):
                        order = [("rls", app), ("bypass", bypass)]
                        pair = {mode: timed(connection, query, params, mode == "rls")
                                for mode, connection in (order if run % 2 else order[::-1])}
                        if run >= 2:  # two warm-up runs per org
                            for mode, elapsed in pair.items():
                                times[mode].append(elapsed)
                # Adjacent runs share the machine's load: the median of their ratios is robust.
                ratios = [a / b for a, b in zip(times["rls"], times["bypass"], strict=True)]
                rows = statistics.median(subtree_rows(network, o) for o in orgs)
                results[(depth, name)] = (statistics.median(times["rls"]),
                                          statistics.median(times["bypass"]),
                                          statistics.median(ratios), rows)
            if plan_cache_mode == "auto":
                explain(app, bypass, orgs[0], month_start, depth)
    return results


def explain(app, bypass, org: Org, month_start: datetime, depth: str) -> None:
    """Plan shapes (no ANALYZE) for the heaviest sampled org: both sides must use an index."""
    params = {"t": org.tenant_id, "p": org.path, "m": month_start}
    for name, query in QUERIES.items():
        for mode, connection in (("rls", app), ("bypass", bypass)):
            with connection.cursor() as cursor:
                if mode == "rls":
                    cursor.execute(SET_SCOPE, {"t": str(org.tenant_id), "p": org.path})
                plan = [r[0] for r in cursor.execute(f"EXPLAIN (COSTS off) {query}", params)]
            connection.commit()
            nodes = [line.strip().removeprefix("->").strip() for i, line in enumerate(plan)
                     if i == 0 or line.strip().startswith("->")]
            assert any("Index" in n for n in nodes), f"{mode} {depth} {name}: no index in {plan}"
            print(f"  plan {depth:<11} {name:<11} {mode:<6} {' > '.join(nodes)}")
            if mode == "rls" and depth == "store" and name == "month total":
                print("\n".join(f"      {line}" for line in plan))


def report(results: dict, plan_cache_mode: str) -> None:
    print(f"\nplan_cache_mode = {plan_cache_mode} (prepared statements; medians of all runs;"
          " ratio = median of paired RLS/bypass runs)")
    print(f"{'depth':<12}{'query':<13}{'subtree rows':>13}{'RLS ms':>9}{'bypass ms':>11}{'ratio':>8}")
    ratios = []
    for (depth, name), (rls, bypass, ratio, rows) in results.items():
        ratios.append(ratio)
        print(f"{depth:<12}{name:<13}{rows:>13,.0f}{rls * 1000:>9.3f}{bypass * 1000:>11.3f}"
              f"{ratio:>8.2f}")
    print(f"geometric mean ratio {statistics.geometric_mean(ratios):.3f}, worst {max(ratios):.3f}"
          " (target <= 1.10)")


def main(argv=None) -> dict:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    with psycopg.connect(args.server, autocommit=True) as admin:
        loaded = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.db,)).fetchone()
    if args.reuse and loaded:
        network = read_network(args)
        print(f"reusing {args.db}: {sum(o.rows for o in network):,} rows, {len(network):,} orgs")
    else:
        network = build_network(rng, args.tenants, args.orgs)
        create_database(args)
        seconds = load(args, rng, network)
        print(f"loaded {args.rows:,} rows over {args.tenants} tenants and {len(network):,} orgs"
              f" in {seconds:.1f}s (COPY, indexes, VACUUM ANALYZE);"
              f" extended statistics {'on' if args.extended_stats else 'off'}")
    try:
        results = {}
        for mode in args.plan_cache_modes.split(","):
            results[mode] = measure(args, random.Random(args.seed), network, mode)
            report(results[mode], mode)
        return results
    finally:
        if not args.keep:
            with psycopg.connect(args.server, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(args.db)))


def quick() -> list[tuple]:
    """For bench/run.py: 300k rows, custom plans only (what the app runs), fewer runs."""
    results = main(["--rows", "300000", "--samples", "3", "--runs", "8",
                    "--plan-cache-modes", "force_custom_plan"])["force_custom_plan"]
    ratios = [ratio for *_, ratio, _ in results.values()]
    mean, worst = statistics.geometric_mean(ratios), max(ratios)
    return [("RLS / bypass, geometric mean of 6 queries", round(mean, 2), "<= 1.10", mean <= 1.10),
            ("RLS / bypass, worst query", round(worst, 2), "info", None)]


if __name__ == "__main__":
    main()
