#!/usr/bin/env bash
# README command 1: the embedded demo (SQLite under instance/, eager tasks, no server to install).
# Installs, migrates, seeds the 'acme' tenant once, then serves http://127.0.0.1:5000 (docs at /docs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv

HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-5000}"
export LOG_FORMAT="${LOG_FORMAT:-console}"  # readable log lines in a terminal (production: JSON)
FLASK=(.venv/bin/flask --app wsgi)

echo "==> flask db upgrade"
"${FLASK[@]}" db upgrade

echo "==> flask seed-demo"
if ! output="$("${FLASK[@]}" seed-demo 2>&1)"; then
    # seed-demo refuses to run twice; a second `make demo` just serves what is there.
    if [[ "$output" == *"already exists; nothing to do"* ]]; then
        echo "demo tenant 'acme' already seeded (every password: demo-password)"
    else
        echo "$output" >&2
        exit 1
    fi
else
    echo "$output"
fi

echo "==> serving http://$HOST:$PORT  (API docs: http://$HOST:$PORT/docs, spec: /openapi.json)"
exec "${FLASK[@]}" run --host "$HOST" --port "$PORT"
