"""``make soak`` / ``python -m soak``: the long fuzz and load runs, figures printed.

    python -m soak                      # everything: fuzz (many examples), parsers, load 60 s
    python -m soak load --duration 60 --phones 200 --citizens 50 --readers 20
    python -m soak fuzz --examples 100
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def load(args) -> int:
    from citygrid.settings import Settings
    from gis.layers.build import build_all
    from soak.load import Plan, Run

    plan = Plan(duration_s=args.duration, phones=args.phones, citizens=args.citizens, readers=args.readers,
                workers=args.workers, kill_server_at=[0.3] if args.kill else [],
                restart_db_at=[0.65] if args.restart_db and not Settings().database_url else [],
                own_cluster=not Settings().database_url)
    print(f"load: {plan}", flush=True)
    run = Run(Settings(), plan, build_all())
    figures = run.run()
    print(run.table())
    print(json.dumps(figures, indent=2))
    ok = (figures["fixes_missing"] == 0 and figures["reports_missing"] == 0 and figures["fix_duplicates"] == 0
          and figures["report_duplicates"] == 0 and figures["reports_unacknowledged"] == 0
          and figures["fixes_found"] == figures["fixes_acknowledged"] == figures["fixes_taken"]
          and figures["server_errors_5xx"] == figures["unavailable_503"])  # only 503 while PostgreSQL restarts
    print("load: OK" if ok else "load: FAILED")
    return 0 if ok else 1


def fuzz(args) -> int:
    from citygrid.settings import Settings
    from gis.layers.build import build_all
    from soak.fuzz import run
    from tests.harness import fresh_database, thread_server, token_headers

    s = fresh_database(Settings(), "citygrid_fuzz_soak", build_all())
    with thread_server(s) as url:
        ids = {"anonymous": {}, "commander": token_headers(s, url, "soak-fz-commander", "commander"),
               "patrol_officer": token_headers(s, url, "soak-fz-officer", "patrol_officer"),
               "drone_operator": token_headers(s, url, "soak-fz-operator", "drone_operator")}
        t0 = time.time()
        report = run(url, ids, max_examples=args.examples, seed=None)
    print(f"fuzz: {report.summary()} in {time.time() - t0:.0f} s")
    for f in report.failures:
        print(f, "\n")
    return 1 if report.failures else 0


def parsers(args) -> int:
    env = {**os.environ, "HYPOTHESIS_PROFILE": "soak"}
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:warnings", "tests/test_parsers_fuzz.py"],
                           env=env)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m soak")
    sub = ap.add_subparsers(dest="what")
    lp = sub.add_parser("load")
    lp.add_argument("--duration", type=float, default=60)
    lp.add_argument("--phones", type=int, default=200)
    lp.add_argument("--citizens", type=int, default=50)
    lp.add_argument("--readers", type=int, default=20)
    lp.add_argument("--workers", type=int, default=2)
    lp.add_argument("--no-kill", dest="kill", action="store_false")
    lp.add_argument("--no-restart-db", dest="restart_db", action="store_false")
    fp = sub.add_parser("fuzz")
    fp.add_argument("--examples", type=int, default=50)
    sub.add_parser("parsers")
    args = ap.parse_args(argv)
    if args.what == "load":
        return load(args)
    if args.what == "fuzz":
        return fuzz(args)
    if args.what == "parsers":
        return parsers(args)
    defaults = ap.parse_args(["load"])
    rc = load(defaults)
    rc |= fuzz(ap.parse_args(["fuzz"]))
    rc |= parsers(None)
    return rc


if __name__ == "__main__":
    sys.exit(main())
