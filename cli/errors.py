"""The CLI's one error handler: every command's refusals end the same way, with a message on
stderr (every problem listed, with where it is) and a documented exit code, never a traceback.

Exit codes:

====  =====================================================================================
0     done
1     refused or failed: not found, conflict, not allowed, an operation on the system failed
2     bad input: a usage error (unknown option, missing argument) or input citygrid refused
      (a file, a value), with every problem listed
3     the database is unavailable (not started, restarting): nothing was written
====  =====================================================================================

A bug (any other exception) still ends with a traceback: it is ours to fix, not the user's.
"""
from __future__ import annotations

import click
import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import exc as sa_exc
from typer.core import TyperGroup

from citygrid.errors import CitygridError, InvalidInput

OK, REFUSED, BAD_INPUT, DATABASE_UNAVAILABLE = 0, 1, 2, 3
# Looked up along the exception's class hierarchy: the most specific class wins.
EXIT_CODES: dict[type[Exception], int] = {
    InvalidInput: BAD_INPUT,
    sa_exc.DataError: BAD_INPUT,
    sa_exc.IntegrityError: REFUSED,
    CitygridError: REFUSED,
    sa_exc.OperationalError: DATABASE_UNAVAILABLE,
    sa_exc.InterfaceError: DATABASE_UNAVAILABLE,
}
MAX_PROBLEMS_SHOWN = 50
err_console = Console(stderr=True)


def exit_code_for(exc: BaseException) -> int | None:
    """The exit code for ``exc``; None for an exception that is a bug."""
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return None


def _where(problem: dict) -> str:
    if problem.get("where"):
        return str(problem["where"])
    parts = [f"{k} {problem[k]}" if k in ("feature", "line", "waypoint") else str(problem[k])
             for k in ("file", "feature", "line", "waypoint") if problem.get(k) is not None]
    return ", ".join(parts)


def report(exc: BaseException) -> None:
    """Print ``exc`` for a person: the message, then each problem with where it is."""
    if isinstance(exc, CitygridError):
        err_console.print(f"[red]error:[/red] {escape(exc.message)}")
        for p in exc.problems[:MAX_PROBLEMS_SHOWN]:
            text = p.get("problem") or p.get("message") or p
            if p.get("rule"):  # a drone rule: its name first, as the regulation has it
                text = f"{p['rule']}: {text}"
            err_console.print(f"  {escape(_where(p))}: {escape(str(text))}")
        if len(exc.problems) > MAX_PROBLEMS_SHOWN:
            err_console.print(f"  ... and {len(exc.problems) - MAX_PROBLEMS_SHOWN} more")
    elif isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        err_console.print("[red]error:[/red] the database is unavailable: start it with `citygrid db up` "
                          "(or check CITYGRID_DATABASE_URL)")
    else:
        first = str(getattr(exc, "orig", exc)).strip().splitlines()
        err_console.print(f"[red]error:[/red] invalid value: {escape(first[0] if first else type(exc).__name__)}")


class HandledGroup(TyperGroup):
    """The root command group: runs the command and turns known errors into exit codes."""

    def invoke(self, ctx: click.Context):
        """Run the command; a known error (``exit_code_for``) is printed to stderr and exits with
        its code, not a traceback. Click's own exits and usage errors pass through unchanged."""
        try:
            return super().invoke(ctx)
        except (typer.Exit, click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            code = exit_code_for(exc)
            if code is None:
                raise
            report(exc)
            raise typer.Exit(code) from None
