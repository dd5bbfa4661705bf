"""The provider commands: `songforge providers [--json] [--check]` and `songforge usage`.

The main CLI attaches them with :func:`register`. Nothing here calls a provider's network
unless ``--check`` asks for health; secrets are only ever shown masked (``r8_****cdef``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from songforge.errors import SongforgeError
from songforge.settings import Settings

out = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _price_text(price: dict[str, Any] | None) -> str:
    if not price:
        return "?"
    kind, usd = price["kind"], price["usd"]
    if kind == "free":
        return "free"
    unit = {"per_request": "/request", "per_audio_second": "/audio s"}.get(kind, "/compute s")
    return f"${usd:g}{unit}"


def register(app: typer.Typer) -> None:
    """Add `providers` and `usage` to the main CLI."""

    @app.command()
    def providers(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
        check: Annotated[
            bool, typer.Option("--check", help="Also check health (may call the network)")
        ] = False,
    ) -> None:
        """List every provider: installed?, configured?, what it can do, what it costs."""
        from songforge.providers.overview import describe_providers

        try:
            rows = describe_providers(Settings(), check=check)
        except SongforgeError as exc:
            _fail(exc.message)
            return
        if as_json:
            typer.echo(json.dumps({"providers": rows}, indent=2))
            return
        table = Table(show_header=True, header_style="bold")
        for column in ("provider", "ready", "max clip", "features", "price", "health / note"):
            table.add_column(column)
        for row in rows:
            caps = row["capabilities"] or {}
            ready = "yes" if row["installed"] and row["configured"] else "no"
            clip = caps.get("max_clip_s")
            features = [
                f for f in ("continuation", "vocals", "stems", "midi", "local") if caps.get(f)
            ]
            health = row["health"]
            note = (
                ("ok" if health["ok"] else "down") + (f": {health['detail']}" if health else "")
                if health
                else row["reason"]
            )
            table.add_row(
                row["name"],
                ready,
                "song" if caps and clip is None else (f"{clip:g} s" if clip else "?"),
                ", ".join(features),
                _price_text(row["price"]),
                note,
            )
        out.print(table)

    @app.command()
    def usage(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
        key: Annotated[str | None, typer.Option(help="Only this API key id")] = None,
        month: Annotated[str | None, typer.Option(help="Only this month, YYYY-MM")] = None,
        data_dir: Annotated[
            str | None,
            typer.Option("--data-dir", help="The server's data dir [SONGFORGE_DATA_DIR]"),
        ] = None,
    ) -> None:
        """Spend on providers per API key, provider and month (from the usage ledger the
        server and its workers write: DATA_DIR/usage.db, or SONGFORGE_USAGE_DB)."""
        from songforge.providers.cost import BudgetPolicy, open_ledger

        try:
            overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
            settings = Settings(**overrides)
            rows = open_ledger(settings).summary(key_id=key, month=month)
        except SongforgeError as exc:
            _fail(exc.message)
            return
        budgets = BudgetPolicy.from_settings(settings)
        items = [{**row.to_dict(), "budget_usd": budgets.budget_for(row.key_id)} for row in rows]
        if as_json:
            total = round(sum(r.usd for r in rows), 6)
            typer.echo(json.dumps({"items": items, "total_usd": total}, indent=2))
            return
        table = Table(show_header=True, header_style="bold")
        for column in ("month", "key", "provider", "jobs", "audio", "spent", "budget"):
            table.add_column(column, justify="right" if column in ("jobs", "spent") else "left")
        for item in items:
            budget = item["budget_usd"]
            table.add_row(
                item["month"],
                item["key_id"],
                item["provider"],
                str(item["jobs"]),
                f"{item['seconds']:.0f} s",
                f"${item['usd']:.2f}",
                "—" if budget is None else f"${budget:.2f}/month",
            )
        out.print(table if items else "no provider usage recorded yet")


__all__ = ["register"]
