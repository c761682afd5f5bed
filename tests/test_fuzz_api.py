"""Schemathesis against /openapi.json of a live server (its own database, citygrid_fuzz):
every operation, positive and negative data, anonymous and with a commander's token. No 5xx,
and documented response schemas hold. A few examples per operation here; many in `make soak`."""
from __future__ import annotations

import pytest

from soak.fuzz import run
from tests.harness import thread_server, fresh_database, token_headers


@pytest.fixture(scope="module")
def fuzz_server(settings, built_layers):
    s = fresh_database(settings, f"{settings.db_name}_fuzz", built_layers)  # follows CITYGRID_TEST_DB_NAME
    with thread_server(s) as url:
        yield s, url


def test_every_operation_fuzzed_without_5xx(fuzz_server):
    s, url = fuzz_server
    identities = {"anonymous": {}, "commander": token_headers(s, url, "fuzz-commander", "commander")}
    report = run(url, identities, max_examples=3)
    print(report.summary())
    assert report.operations >= 40
    assert not report.failures, "\n\n".join(report.failures)
