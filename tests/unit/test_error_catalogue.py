"""Every error code lives in its domain's errors.py: none is invented where it is raised."""

import ast
import importlib
import re
from pathlib import Path

import app.models  # noqa: F401  (every domain imported, so every error class is defined)
from app.errors import DomainError

APP = Path(__file__).resolve().parents[2] / "app"


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_no_raise_site_names_its_own_code_or_status():
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                named = {keyword.arg for keyword in node.exc.keywords} & {"code", "status"}
                if named:
                    offenders.append(f"{path.relative_to(APP)}:{node.lineno} {sorted(named)}")
    assert offenders == []


def test_every_domain_error_is_defined_in_an_errors_module_with_a_snake_case_code():
    for module in ("app.auth.api", "app.catalog.api", "app.orders.api_portal", "app.payments.api",
                   "app.finance.api", "app.tenancy.api", "app.platform.health"):
        importlib.import_module(module)
    classes = list(_subclasses(DomainError))
    assert len(classes) > 40
    misplaced = [f"{cls.__module__}.{cls.__name__}" for cls in classes
                 if not cls.__module__.endswith("errors")]
    assert misplaced == []
    assert [cls.code for cls in classes if not re.fullmatch(r"[a-z]+(_[a-z]+)*", cls.code)] == []
