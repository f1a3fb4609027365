"""CLI commands: create-roles, seed-demo."""

from flask import Flask


def register_cli(app: Flask) -> None:
    from app.demo.seed import seed_demo_command
    from app.tenancy.roles import create_roles_command

    app.cli.add_command(create_roles_command)
    app.cli.add_command(seed_demo_command)
