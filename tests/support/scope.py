"""Tests set the scope they act under directly; the app itself goes through app.tenancy.elevation."""

from app.tenancy.elevation import Why, enter_scope


def use_scope(session, scope) -> None:
    """Act as `scope` from here on (what a request or a task does when it starts)."""
    enter_scope(session, Why.request, scope=scope)

