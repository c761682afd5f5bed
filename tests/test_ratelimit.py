"""Open311 intake rate limits (api/ratelimit.py): per device_id and per api_key, a looser
per-address ceiling; 429 in the Open311 error form with Retry-After. 50 reporters sharing one
address at realistic rates pass; one client flooding is refused."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from api.ratelimit import SlidingWindow, open311_limits
from citygrid.org import add_api_client
from citygrid.settings import Settings

BASE = "/open311/v2"


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_sliding_window_admits_then_refuses_then_recovers():
    clock = FakeClock()
    w = SlidingWindow(60, clock)
    assert all(w.check([("a", 3)]) is None for _ in range(3))
    wait = w.check([("a", 3)])
    assert wait == 60
    clock.t += 30
    assert w.check([("a", 3)]) == 30  # refusals are not counted
    clock.t += 30.001
    assert w.check([("a", 3)]) is None
    # All-or-nothing: a refusal on one key records nothing on the others.
    assert w.check([("b", 5), ("a", 1)]) is not None
    assert w.count("b") == 0 and w.count("a") == 1


def test_limits_model_many_reporters_vs_one_flooder():
    """Simulated time: 50 phones behind one address, one api_key, each reporting every 20-40 s for
    five minutes, are never refused; a flooder on the same address is, by device then by key."""
    s = Settings()
    clock = FakeClock()
    w = SlidingWindow(s.open311_rate_window_s, clock)
    refused = 0
    for tick in range(300):  # seconds
        clock.t = 1000.0 + tick
        for phone in range(50):
            if (tick + phone) % (20 + phone % 21) == 0:
                refused += w.check(open311_limits(f"phone-{phone}", "app-key", "127.0.0.1", s)) is not None
    assert refused == 0
    # One device flooding: refused after the per-device limit.
    clock.t += 120
    results = [w.check(open311_limits("flooder", "app-key", "127.0.0.1", s)) for _ in range(50)]
    assert sum(r is None for r in results) == s.open311_rate_per_device
    # Rotating device ids does not help: the api_key limit, then the address ceiling, refuse it.
    clock.t += 120
    results = [w.check(open311_limits(f"rot-{i}", "app-key", "127.0.0.1", s)) for i in range(1000)]
    assert sum(r is None for r in results) == s.open311_rate_per_api_key
    clock.t += 120
    results = [w.check(open311_limits(f"rot2-{i}", f"key-{i}", "127.0.0.1", s)) for i in range(1000)]
    assert sum(r is None for r in results) == s.open311_rate_per_address


def _form(key, device, lon, lat, text):
    return {"api_key": key, "service_code": "noise", "lat": lat, "long": lon, "description": text,
            "device_id": device}


def test_fifty_reporters_on_one_address_are_not_refused(server, engine, layers):
    key = add_api_client(engine, f"ratelimit-app-{uuid.uuid4().hex[:6]}")
    p = layers["grids"].sort_values("code").iloc[3].geometry.representative_point()

    def reporter(i):
        with httpx.Client(base_url=server, timeout=30) as c:
            return [c.post(f"{BASE}/requests.json",
                           data=_form(key, f"rl-phone-{i}-{key[:6]}", p.x, p.y, f"report {n} from {i}")).status_code
                    for n in range(2)]

    with ThreadPoolExecutor(10) as pool:
        codes = [c for cs in pool.map(reporter, range(50)) for c in cs]
    assert codes.count(201) == 100, codes


def test_one_device_flooding_gets_429_with_retry_after(http, engine, layers):
    key = add_api_client(engine, f"ratelimit-flood-{uuid.uuid4().hex[:6]}")
    p = layers["grids"].sort_values("code").iloc[4].geometry.representative_point()
    device = f"flood-{uuid.uuid4().hex[:6]}"
    codes = []
    for n in range(15):
        r = http.post(f"{BASE}/requests.json", data=_form(key, device, p.x, p.y, f"flood {n}"))
        codes.append(r.status_code)
    limit = Settings().open311_rate_per_device
    assert codes[:limit] == [201] * limit and set(codes[limit:]) == {429}, codes
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    body = r.json()
    assert isinstance(body, list) and body[0]["code"] == 429 and "retry after" in body[0]["description"]
    # A JSON body is keyed the same way.
    r = http.post(f"{BASE}/requests.json", json=_form(key, device, p.x, p.y, "flood json"))
    assert r.status_code == 429 and "Retry-After" in r.headers
    # Another phone of the same app is not affected.
    r = http.post(f"{BASE}/requests.json", data=_form(key, device + "-other", p.x, p.y, "not a flood"))
    assert r.status_code == 201, r.text
