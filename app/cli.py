"""CLI commands: create-roles, seed-demo, create-tenant, permissions-matrix; each in one unit of work."""

import click
from flask import Flask
from flask.cli import with_appcontext

from app.uow import unit_of_work


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create the demo tenant 'acme' and print how to try each surface."""
    from app.demo.seed import guide_text, seed_demo  # noqa: PLC0415  (only the demo needs it)

    with unit_of_work():
        guide = seed_demo()
    click.echo(guide_text(guide))


def register_cli(app: Flask) -> None:
    from app.tenancy.onboarding import create_tenant_command  # noqa: PLC0415
    from app.tenancy.permissions_cli import permissions_matrix_command  # noqa: PLC0415
    from app.tenancy.roles import create_roles_command  # noqa: PLC0415

    app.cli.add_command(create_roles_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_tenant_command)
    app.cli.add_command(permissions_matrix_command)
