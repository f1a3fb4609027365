#!/usr/bin/env bash
# A supervised Celery worker (or beat): restarts it whenever it exits, until this script is stopped.
#
#   scripts/worker.sh                   # worker, all queues
#   scripts/worker.sh -Q orders         # extra arguments go to `celery worker`
#   ROLE=beat scripts/worker.sh         # celery beat, supervised the same way
#
# The worker runs without gossip, mingle and heartbeat: those broadcast channels are where kombu's
# Redis transport failed on a broker connection loss and took the worker down. systemd or
# supervisord do the same job in production (docs/operations.md); this loop is for hosts without.
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-.venv/bin/python}"
ROLE="${ROLE:-worker}"
RESTART_DELAY="${RESTART_DELAY:-1}"

if [[ "$ROLE" == "beat" ]]; then
    command=("$PYTHON" -m celery -A wsgi.celery beat --loglevel="${LOGLEVEL:-INFO}" "$@")
else
    command=("$PYTHON" -m celery -A wsgi.celery worker --without-gossip --without-mingle
             --without-heartbeat --loglevel="${LOGLEVEL:-INFO}" "$@")
fi

child=""
stopping=""
stop() {
    stopping=1
    [[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null
}
trap stop TERM INT

while [[ -z "$stopping" ]]; do
    "${command[@]}" &
    child=$!
    wait "$child"
    status=$?
    [[ -n "$stopping" ]] && { wait "$child" 2>/dev/null; break; }
    echo "worker.sh: celery $ROLE exited with status $status; restarting in ${RESTART_DELAY}s" >&2
    sleep "$RESTART_DELAY"
done
