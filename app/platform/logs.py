"""Structured JSON logs with structlog: one line per request and per task, and every stdlib log line.

A request's line carries its request id (accepted from `X-Request-Id` when it looks like one,
else made here, and echoed in the response), tenant, actor, route template, status and latency.
Never personal data: routes are templates (`/network/consumers/{consumer_id}`, ids only), no
bodies or query strings are logged, keys that name personal data are redacted by a processor,
and the engine runs with `hide_parameters=True` (no SQL parameters in any message).
"""

import logging
import re
import sys
import time
import uuid

import structlog
from celery import signals
from flask import Flask, g, request

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
PERSONAL_KEYS = frozenset({"email", "phone", "name", "address", "password", "openid", "ship_to", "note",
                           "reason", "body", "query", "params", "parameters"})

access_log = structlog.get_logger("tiermall.access")
task_log = structlog.get_logger("tiermall.task")


def redact_personal(_logger, _method, event_dict: dict) -> dict:
    """A key that names personal data never reaches the output, whoever logged it."""
    for key in PERSONAL_KEYS & event_dict.keys():
        event_dict[key] = "[redacted]"
    return event_dict


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test runner swaps it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(*, level: str = "INFO", fmt: str = "json") -> None:
    """structlog and the stdlib root logger render through one processor chain, as JSON lines
    on stderr (`fmt="console"`: readable lines, for the demo). Safe to call again."""
    shared = [
        structlog.contextvars.merge_contextvars,  # request_id (and task) bound for this context
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_personal,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer = structlog.dev.ConsoleRenderer() if fmt == "console" else structlog.processors.JSONRenderer()
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer])
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    handler.set_name("tiermall")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "tiermall"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def request_id_of(incoming: str | None) -> str:
    """The caller's id when it is a plausible one (no spaces, quotes or control characters, at
    most 128 characters: it is echoed and logged), else a new one."""
    if incoming and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def init_request_logging(app: Flask, on_response=None) -> None:
    """Bind a request id first thing, log one line per response (and hand it to `on_response`,
    the metrics' observer: method, route, status, seconds)."""

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = request_id_of(request.headers.get(REQUEST_ID_HEADER))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.after_request
    def _finish(response):
        request_id = g.get("request_id") or request_id_of(None)
        response.headers[REQUEST_ID_HEADER] = request_id
        seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        scope = g.get("scope")  # set once the caller's credentials were resolved
        actor = (scope.actor_id or scope.consumer_id) if scope is not None else None
        access_log.info(
            "request", request_id=request_id, method=request.method, route=route,
            status=response.status_code, latency_ms=round(seconds * 1000, 1),
            tenant=str(scope.tenant_id) if scope is not None and scope.tenant_id else None,
            actor_kind=scope.actor_kind.value if scope is not None else None,
            actor=str(actor) if actor else None)
        if on_response is not None:
            on_response(request.method, route, response.status_code, seconds)
        return response

    @app.teardown_request
    def _forget(_error=None) -> None:
        structlog.contextvars.clear_contextvars()


# --- Celery: the request id travels with the task; one line per task run ---------------------

_task_runs: dict[str, tuple[float, list[str]]] = {}  # task id -> (started, keys bound for it)


@signals.before_task_publish.connect(weak=False)
def _stamp_request_id(headers=None, **_) -> None:
    """A task published while handling a request carries that request's id in its headers."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if headers is not None and request_id and "request_id" not in headers:
        headers["request_id"] = request_id


@signals.task_prerun.connect(weak=False)
def _bind_task(task_id=None, task=None, **_) -> None:
    """Bind the task and the request id it was sent with (an eager run inside a request keeps
    the request's own); unbound again when the task ends."""
    bound = {"task": getattr(task, "name", None), "task_id": task_id}
    sent_by = _sent_with(getattr(task, "request", None))
    if sent_by and "request_id" not in structlog.contextvars.get_contextvars():
        bound["request_id"] = request_id_of(sent_by)
    structlog.contextvars.bind_contextvars(**bound)
    if task_id:
        _task_runs[task_id] = (time.perf_counter(), list(bound))


def _sent_with(context) -> str | None:
    """The request id a task message carries: a worker exposes custom headers on the request
    context, an eager `apply(headers=...)` keeps them under `headers`."""
    if context is None:
        return None
    return getattr(context, "request_id", None) or (getattr(context, "headers", None) or {}).get("request_id")


@signals.task_postrun.connect(weak=False)
def _log_task(task_id=None, task=None, state=None, **_) -> None:
    started, keys = _task_runs.pop(task_id, (None, ["task", "task_id"])) if task_id else (None, [])
    if started is not None:
        task_log.info("task", state=state, latency_ms=round((time.perf_counter() - started) * 1000, 1))
    structlog.contextvars.unbind_contextvars(*keys)
