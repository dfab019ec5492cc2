"""The ``tidings`` command group, its consoles and the helpers every command uses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tidings.client import TidingsClient
from tidings.config import Settings, load_settings, use_config_file
from tidings.errors import TidingsError

app = typer.Typer(help="Tidings messaging gateway.", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="API keys (works on the database directly).", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (works on the database directly).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(accounts_app, name="accounts")
console = Console()
err = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file", exists=True, dir_okay=False)
]


@app.callback()
def main(config: ConfigOption = None) -> None:
    use_config_file(config)


def settings_from_env(**overrides: Any) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        # Field paths and pydantic's messages only: the input itself may be a secret.
        problems = [
            f"{'.'.join(str(part) for part in problem['loc']) or 'settings'}: {problem['msg']}"
            for problem in exc.errors(include_input=False, include_url=False)
        ]
        err.print(f"[red]invalid configuration:[/] {escape('; '.join(problems))}", soft_wrap=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # e.g. the TOML file does not parse: its message names the line
        err.print(f"[red]invalid configuration:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None


def api_client(settings: Settings) -> TidingsClient:
    """A client of the gateway at TIDINGS_API_URL with TIDINGS_API_KEY, for the commands that
    talk to a running gateway."""
    if settings.api_key is None:
        err.print("[red]set TIDINGS_API_KEY to an API key of the gateway at TIDINGS_API_URL[/]")
        raise typer.Exit(2)
    return TidingsClient(settings.api_url, settings.api_key.get_secret_value())


def fail(exc: TidingsError) -> NoReturn:
    err.print(f"[red]error:[/] {exc.message} ({exc.code})")
    raise typer.Exit(1)


def print_bootstrap(boot: Any, settings: Settings) -> None:
    table = Table(title="New Tidings install: save these, they are shown once", show_header=False)
    table.add_row("account id", boot.account_id)
    table.add_row("auth token", boot.auth_token)
    if settings.bootstrap_key is None:
        table.add_row("admin API key", boot.api_key)
    else:
        table.add_row("admin API key", "the value of TIDINGS_BOOTSTRAP_KEY")
    table.add_row("sandbox channel", boot.sandbox_channel_id)
    console.print(table)
