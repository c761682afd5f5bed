"""The layers a newcomer can rely on (faces → domains → gis → core), the CLI's exit codes, and
the one status map of the API."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc

from api.errors import error_answer, status_for
from cli.errors import BAD_INPUT, DATABASE_UNAVAILABLE, REFUSED, exit_code_for
from citygrid.errors import CitygridError, Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests
from citygrid.vocab import UnknownCategory

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_import_layers_contracts_kept():
    res = subprocess.run([str(BIN / "lint-imports"), "--config", str(ROOT / "pyproject.toml")],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "2 kept, 0 broken" in res.stdout


def test_domain_errors_carry_no_http_status():
    # the domain names what went wrong; only api/errors.py turns it into a status
    for cls in (CitygridError, InvalidInput, NotFound, Conflict, Forbidden, TooManyRequests):
        assert not hasattr(cls, "status"), cls
    assert [status_for(e("x")) for e in (InvalidInput, NotFound, Conflict, Forbidden)] == [422, 404, 409, 403]
    assert status_for(UnknownCategory("x")) == 422  # a subclass finds its parent's status
    status, body, headers = error_answer(TooManyRequests("slow down", retry_after=7), "/open311/v2/requests.json")
    assert (status, headers["Retry-After"], body) == (429, "7", [{"code": 429, "description": "slow down"}])
    status, body, _ = error_answer(Conflict("used key"), "/open311/v2/requests.json")
    assert (status, body[0]["code"]) == (400, 400)  # GeoReport v2 has no 409
    status, body, _ = error_answer(InvalidInput("bad", [{"where": "lat", "problem": "swapped"}]), "/api/cases")
    assert status == 422 and body["problems"] == [{"where": "lat", "problem": "swapped"}]


def test_cli_exit_codes_by_error_class():
    assert exit_code_for(InvalidInput("x")) == exit_code_for(UnknownCategory("x")) == BAD_INPUT == 2
    assert exit_code_for(NotFound("x")) == exit_code_for(Conflict("x")) == REFUSED == 1
    assert exit_code_for(sa_exc.OperationalError("select 1", {}, Exception("refused"))) == DATABASE_UNAVAILABLE == 3
    assert exit_code_for(KeyError("a bug")) is None  # bugs keep their traceback


def _cli(*args, env=None):
    return subprocess.run([str(BIN / "citygrid"), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=ROOT)


def test_cli_bad_input_is_a_message_and_code_2_never_a_traceback(tmp_path):
    bad = tmp_path / "track.csv"
    bad.write_text("device_id,time,lon,lat\nphone,2026-03-02T08:00:00+08:00,35.41,119.53\n"
                   "phone,not-a-time,119.53,35.41\n")
    res = _cli("patrol", "mileage", str(bad), "--json")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr and "error:" in res.stderr
    assert "line 2" in res.stderr or "swapped" in res.stderr  # the problem is named, with where


def test_cli_database_unavailable_is_code_3(tmp_path):
    # a server that is not there: the command says so and exits 3, with no traceback
    res = _cli("users", "list", env={"CITYGRID_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"})
    assert res.returncode == 3, res.stdout + res.stderr
    assert "database is unavailable" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("package", ["soak", "bench", "tests"])
def test_helpers_are_not_installed_with_the_package(package):
    import tomllib

    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not any(pattern.split("*")[0] == package for pattern in include)


def test_where_binds_every_value_and_skips_absent_ones(engine):
    import sqlalchemy as sa

    from citygrid.db.where import Where

    w = Where("s.v > 0").add_if(None, "s.v = :?").add("s.v = ANY(:?)", [1, 2, 3]).period("s.t", 1, 3)
    assert w.sql() == "WHERE s.v > 0 AND s.v = ANY(:w0) AND s.t >= :w1 AND s.t < :w2"
    sql = f"SELECT s.v FROM (VALUES (1, 1), (2, 2), (3, 3), (4, 1)) s(v, t) {w.sql()} ORDER BY s.v"
    with engine.connect() as conn:
        assert conn.execute(sa.text(sql), w.params).scalars().all() == [1, 2]
    inclusive = Where().period("s.t", None, 3, end_inclusive=True)
    assert inclusive.sql() == "WHERE s.t <= :w0" and Where().sql() == "" and Where().joined() == "TRUE"
    with pytest.raises(ValueError):
        Where().add("a = :? AND b = :?", 1)


def test_public_functions_have_docstrings():
    # a newcomer reads the docstrings first: every public function, class and method has one
    import ast

    missing = []
    for package in ("citygrid", "gis", "cases", "patrol", "drone", "api", "cli"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            nodes = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
            nodes += [m for n in nodes if isinstance(n, ast.ClassDef) and not n.name.startswith("_")
                      for m in n.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
            missing += [f"{path.relative_to(ROOT)}:{n.lineno} {n.name}" for n in nodes
                        if not n.name.startswith("_") and not ast.get_docstring(n)]
    assert missing == []
