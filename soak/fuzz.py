"""Schemathesis against the service's own OpenAPI: every operation, positive and negative
data, each case sent once per identity (anonymous, a commander token, ...).

A failure is a 5xx, a connection that breaks, or (for positive data) a response that does not
match the schema the operation documents for that status. ``run`` collects every failure with
a curl line to reproduce it, instead of stopping at the first.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

CHECKS = [not_a_server_error, response_schema_conformance]


@dataclass
class FuzzReport:
    operations: int = 0
    calls: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (f"{self.operations} operations, {self.calls} calls, statuses {{{codes}}}, "
                f"{len(self.failures)} failure(s)")


def load(base_url: str):
    return schemathesis.openapi.from_url(f"{base_url}/openapi.json")


def run(base_url: str, identities: dict[str, dict], max_examples: int = 3, seed: int | None = 0,
        skip=lambda op: False, modes=(GenerationMode.POSITIVE, GenerationMode.NEGATIVE)) -> FuzzReport:
    schema = load(base_url)
    report = FuzzReport()
    session = requests.Session()
    for result in schema.get_all_operations():
        op = result.ok()
        if skip(op):
            continue
        report.operations += 1
        for mode in modes:
            _fuzz_operation(op, mode, base_url, identities, max_examples, seed, session, report)
    return report


def _fuzz_operation(op, mode, base_url, identities, max_examples, seed, session, report):
    seen: set[str] = set()

    def test(case):
        for who, headers in identities.items():
            try:
                response = case.call(base_url=base_url, session=session, headers=dict(headers), timeout=60)
            except Exception as exc:  # a dropped connection is as bad as a 5xx
                report.failures.append(f"{op.label} [{who}, {mode.value}] no response: {exc!r}\n"
                                       f"  {case.as_curl_command(headers=dict(headers))}")
                continue
            report.calls += 1
            report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
            checks = CHECKS if mode == GenerationMode.POSITIVE else [not_a_server_error]
            try:
                case.validate_response(response, checks=checks, headers=dict(headers))
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # schemathesis raises FailureGroup (an exception group)
                key = f"{op.label}:{response.status_code}:{type(exc).__name__}"
                if key in seen:
                    continue
                seen.add(key)
                text = str(exc).strip().splitlines()
                report.failures.append(
                    f"{op.label} [{who}, {mode.value}] -> {response.status_code}: "
                    f"{' | '.join(text[:6])[:600]}\n  body: {response.text[:300]}\n"
                    f"  {case.as_curl_command(headers=dict(headers))}")

    settings = hypothesis.settings(max_examples=max_examples, deadline=None, database=None,
                                   phases=[Phase.explicit, Phase.generate],
                                   suppress_health_check=list(HealthCheck), derandomize=seed is not None,
                                   print_blob=False)
    fn = hypothesis.given(case=op.as_strategy(generation_mode=mode))(test)
    fn = settings(fn)
    try:
        fn()
    except hypothesis.errors.Unsatisfiable:
        pass
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:
        report.failures.append(f"{op.label} [{mode.value}] generation error:\n{traceback.format_exc()[-800:]}")
