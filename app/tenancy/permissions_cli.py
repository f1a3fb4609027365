"""`flask permissions-matrix`: print the role → action matrix, or rewrite it into docs/auth.md."""

from pathlib import Path

import click
from flask import current_app

from app.tenancy.permissions import render_matrix, rewrite_marked_section


def auth_doc_path() -> Path:
    return Path(current_app.root_path).parent / "docs" / "auth.md"


@click.command("permissions-matrix")
@click.option("--write", is_flag=True, help="Rewrite the marked section of docs/auth.md.")
def permissions_matrix_command(write: bool) -> None:
    """Print the permission matrix (Markdown), or write it into docs/auth.md."""
    if not write:
        click.echo(render_matrix())
        return
    path = auth_doc_path()
    path.write_text(rewrite_marked_section(path.read_text(encoding="utf-8")), encoding="utf-8")
    click.echo(f"rewrote the permission matrix in {path}")
