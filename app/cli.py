"""CLI commands: create-roles, seed-demo, create-tenant, permissions-matrix."""

from flask import Flask


def register_cli(app: Flask) -> None:
    from app.demo.seed import seed_demo_command
    from app.tenancy.onboarding import create_tenant_command
    from app.tenancy.permissions_cli import permissions_matrix_command
    from app.tenancy.roles import create_roles_command

    app.cli.add_command(create_roles_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_tenant_command)
    app.cli.add_command(permissions_matrix_command)
