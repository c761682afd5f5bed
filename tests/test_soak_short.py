"""The load-with-faults run, short: 5 s of 10 phones at 1 Hz, 5 citizens, 2 readers, the API
server (a uvicorn subprocess) killed with SIGKILL once mid-run and started again. Every
acknowledged fix and report is in the database exactly once. The long run: `make soak`."""
from __future__ import annotations

from soak.load import Plan, Run


def test_short_soak_with_server_kill(settings, built_layers):
    plan = Plan(duration_s=5, phones=10, citizens=5, readers=2, citizen_interval_s=2.0, workers=1,
                kill_server_at=[0.4], restart_db_at=[], drain_s=60, db_name=f"{settings.db_name}_soak_short",
                own_cluster=False)
    run = Run(settings, plan, built_layers)
    figures = run.run()
    print(run.table())
    print(figures)
    assert any("killed" in e for e in run.stats.events)
    assert figures["fixes_taken"] >= 10 and figures["fixes_acknowledged"] == figures["fixes_taken"]
    assert figures["reports_acknowledged"] >= 5
    assert figures["fixes_found"] == figures["fixes_acknowledged"] and figures["fixes_missing"] == 0
    assert figures["reports_found"] == figures["reports_acknowledged"] and figures["reports_missing"] == 0
    assert figures["fix_duplicates"] == 0 and figures["report_duplicates"] == 0
    assert figures["reports_unacknowledged"] == 0
    assert figures["server_errors_5xx"] == 0
