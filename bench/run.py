"""Every benchmark in bench/ at a quick size, and one table of figures: figure, value, target, pass/short.

Usage: .venv/bin/python bench/run.py [--only checkout,scoped_lists] [--list]   (or: make bench)

Convention (see bench/README.md): a module `bench/<name>.py` that defines `quick()` is a benchmark.
`quick()` runs it at a size that finishes in a few minutes and returns rows
`(figure: str, value: float | int, target: str, passed: bool)`; it creates and drops whatever it
needs. The full-size runs stay each module's own command line (`python bench/<name>.py --help`).
A benchmark that raises is reported as an error row; the others still run.
"""

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]  # `import app...` and the benches' own helpers

Row = tuple[str, float | int | str, str, bool | None]


def discover() -> list[str]:
    """Module names in bench/ that define `quick()` (found by reading, not importing, the files)."""
    return sorted(path.stem for path in BENCH.glob("*.py")
                  if path.stem != "run" and "\ndef quick(" in path.read_text())


def run_one(name: str) -> tuple[list[Row], float]:
    started = time.perf_counter()
    environ = dict(os.environ)  # a bench that builds an app sets its variables (DATABASE_URL, ...) here
    try:
        rows = [tuple(row) for row in importlib.import_module(name).quick()]
    except Exception as error:  # noqa: BLE001  (one broken bench must not hide the others)
        traceback.print_exc()
        rows = [(f"{name}: error", type(error).__name__, "runs", False)]
    finally:  # the next bench starts from the same environment (login's SQLite app got export's URL)
        os.environ.clear()
        os.environ.update(environ)
    return rows, time.perf_counter() - started


def table(results: list[tuple[str, list[Row], float]]) -> str:
    lines = [f"{'bench':<16} {'figure':<58} {'value':>9}  {'target':<10} result"]
    lines.append("-" * len(lines[0]))
    for name, rows, _ in results:
        for figure, value, target, passed in rows:
            verdict = "pass" if passed else ("short" if passed is not None else "info")
            lines.append(f"{name:<16} {figure:<58} {value!s:>9}  {target:<10} {verdict}")
    failures = sum(1 for _, rows, _ in results for *_, passed in rows if passed is False)
    seconds = sum(elapsed for *_, elapsed in results)
    lines.append(f"{sum(len(rows) for _, rows, _ in results)} figures, {failures} short, {seconds:.0f}s")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated module names (default: every benchmark)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args()
    names = discover()
    if args.list:
        print("\n".join(names))
        return 0
    if args.only:
        names = [name for name in args.only.split(",") if name]
    results = []
    for name in names:
        print(f"=== {name}", flush=True)
        rows, elapsed = run_one(name)
        results.append((name, rows, elapsed))
    print("\n" + table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
