#!/usr/bin/env python3
"""The marketplace does what its README promises: configuration errors are refused clearly,
idempotency keys are honoured (same key and body: the same answer, byte for byte; same key,
other body: 409), orders are counted per key, requests are checked (UCP-Agent, Idempotency-Key,
signatures per version), every misbehaviour switch misbehaves as documented, the concession
curve follows its exponent, and the simulated clock expires offers."""

import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import marketplace as mp  # noqa: E402

KEY = mp.PlatformKey()
KEY384 = mp.PlatformKey("platform-p384", curve="P-384")


def config():
    verify = {"request_signatures": "verify", "platform_keys": [KEY.jwk(), KEY384.jwk()]}
    return {"clock_start": "2026-12-01T09:00:00Z", "vendors": [
        mp.vendor("honest", "2026-04-08", **verify),
        mp.vendor("first", "2026-01-11", **verify),
        mp.vendor("switch", "2026-04-08", **verify),
        mp.vendor("switch-first", "2026-01-11", **verify),
        mp.vendor("conceder", "2026-04-08",
                  negotiation={"enabled": True, "max_rounds": 6, "exponent": 2.0}),
        mp.vendor("plain", "2026-04-08", negotiation={"enabled": False}),
    ]}


def rfq(**extra):
    body = {"rfq_id": str(uuid.uuid4()), "line_items": [{"item": {"id": "tn-2420"}, "quantity": 1}],
            "need_by": "2026-12-20", "region": {"country": "DE"},
            "reply_by": "2099-01-01T00:00:00Z", "max_rounds": 6, "currency": "EUR"}
    body.update(extra)
    return body


def ready_checkout(c, items=(("tn-2420", 1),)):
    v = c.version
    created = c.call("POST", "/ucp/checkout-sessions", mp.create_body(v, list(items))).json()
    step = c.call("PUT", f"/ucp/checkout-sessions/{created['id']}",
                  mp.update_body(v, created)).json()
    ready = c.call("PUT", f"/ucp/checkout-sessions/{created['id']}",
                   mp.update_body(v, step, with_option="standard")).json()
    assert ready["status"] == "ready_for_complete", ready
    return ready


def misbehave(c, **switches):
    c.admin("POST", "/_admin/misbehaviour", switches)


# ---- tests -------------------------------------------------------------------------------------

def test_config_errors(info):
    binary = os.environ["MARKETPLACE_BIN"]
    cases = [
        ({"vendors": [mp.vendor("a", "2026-04-08",
                                catalogue=[{"id": "x", "price": 54.9}])]},
         "vendors[0].catalogue[0].price: expected an integer (money is in minor units)"),
        ({"vendors": [mp.vendor("a", "2026-04-08", colour="red")]},
         "vendors[0].colour: unknown key"),
        ({"vendors": [mp.vendor("a", "2025-01-01")]}, "vendors[0].version: must be"),
        ({"vendors": [mp.vendor("a", "2026-04-08", misbehaviour={"status": 404})]},
         "vendors[0].misbehaviour.status: must be a 5xx status"),
        ({"host": "0.0.0.0", "vendors": [mp.vendor("a", "2026-04-08")]},
         "config.host: the marketplace serves loopback only"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "c.json")
        for cfg, expected in cases:
            with open(path, "w") as f:
                json.dump(cfg, f)
            p = subprocess.run([binary, "--config", path, "--check-config"], capture_output=True,
                               text=True)
            assert p.returncode == 1 and expected in p.stderr, (p.returncode, p.stderr, expected)
        with open(path, "w") as f:
            json.dump(config(), f)
        p = subprocess.run([binary, "--config", path, "--check-config"], capture_output=True,
                           text=True)
        assert p.returncode == 0 and "6 vendor(s)" in p.stdout, p
    example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendors.example.json")
    p = subprocess.run([binary, "--config", example, "--check-config"], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr


def test_announcement(info):
    import base64
    import hashlib
    import ssl as ssl_module
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    assert os.path.isfile(info["ca_file"])
    # The pins it announces match what it serves, computed independently.
    v = info["by_name"]["honest"]
    pem = ssl_module.get_server_certificate(("127.0.0.1", v["port"]))
    spki = x509.load_pem_x509_certificate(pem.encode()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert base64.b64encode(hashlib.sha256(spki).digest()).decode() == info["tls_spki_sha256"]
    k = v["signing_key"]
    canonical = json.dumps({"crv": k["crv"], "kty": k["kty"], "x": k["x"], "y": k["y"]},
                           separators=(",", ":"), sort_keys=True).encode()
    assert mp.b64url(hashlib.sha256(canonical).digest()) == v["signing_key_thumbprint"]
    for v in info["vendors"]:
        assert v["origin"] == f"https://127.0.0.1:{v['port']}"
        assert ("negotiation_endpoint" in v) == (v["name"] != "plain")
    assert info["by_name"]["first"]["version"] == "2026-01-11"


def test_idempotency(info):
    for name in ("honest", "first"):
        c = client(info, name)
        ready = ready_checkout(c)
        key = str(uuid.uuid4())
        path = f"/ucp/checkout-sessions/{ready['id']}/complete"
        body = json.dumps(mp.complete_body(c.version)).encode()
        first = c.call("POST", path, key=key, body=body)
        again = c.call("POST", path, key=key, body=body)
        assert first.status == again.status == 200 and first.body == again.body
        assert first.headers.get("signature") == again.headers.get("signature")
        assert first.json()["status"] == "completed"
        other = json.dumps(mp.complete_body(c.version, handler_id="other")).encode()
        conflict = c.call("POST", path, key=key, body=other)
        assert conflict.status == 409 and conflict.json()["code"] == "idempotency_conflict"
        state = c.admin()
        assert state["orders_per_idempotency_key"] == {key: 1}, state["orders_per_idempotency_key"]
        assert state["idempotency"]["replays"] >= 1 and state["idempotency"]["conflicts"] == 1
        # A fresh key on a completed session creates nothing either.
        fresh = c.call("POST", path, key=str(uuid.uuid4()), body=body).json()
        assert fresh["messages"][-1]["code"] == "already_completed"
        assert len(c.admin()["orders"]) == 1


def test_request_checks(info):
    c = client(info, "honest")
    body = json.dumps(mp.create_body(c.version, [("tn-2420", 1)])).encode()
    a = c.call("POST", "/ucp/checkout-sessions", body=body, headers={"UCP-Agent": "nobody"})
    assert a.status == 400 and a.json()["code"] == "invalid_profile_url"
    a = c.call("POST", "/ucp/checkout-sessions", body=body, sign=False)
    assert a.status == 401 and a.json()["code"] == "signature_missing"
    a = c.call("POST", "/ucp/checkout-sessions", body=body,
               headers={"Content-Digest": mp.content_digest(b"other")})
    assert a.status == 400 and a.json()["code"] == "digest_mismatch"
    impostor = mp.Client(info["by_name"]["honest"], info["ca_file"], mp.PlatformKey())
    a = impostor.call("POST", "/ucp/checkout-sessions", body=body)
    assert a.status == 401 and a.json()["code"] == "signature_invalid", a.body
    stranger = mp.Client(info["by_name"]["honest"], info["ca_file"], mp.PlatformKey("someone"))
    a = stranger.call("POST", "/ucp/checkout-sessions", body=body)
    assert a.status == 401 and a.json()["code"] == "key_not_found"
    a = c.raw("POST", "/ucp/checkout-sessions", body=body,
              headers={"UCP-Agent": f'profile="{mp.PLATFORM_PROFILE}"',
                       "Content-Type": "application/json"})
    assert a.status == 400 and a.json()["code"] == "idempotency_key_missing"

    f = client(info, "first")
    body = json.dumps(mp.create_body(f.version, [("tn-2420", 1)])).encode()
    a = f.call("POST", "/ucp/checkout-sessions", body=body, sign=False)
    assert a.status == 401 and a.json()["code"] == "signature_missing"
    impostor = mp.Client(info["by_name"]["first"], info["ca_file"], mp.PlatformKey())
    a = impostor.call("POST", "/ucp/checkout-sessions", body=body)
    assert a.status == 401 and a.json()["code"] == "signature_invalid"
    for name in ("honest", "first"):  # ES384 (optional in UCP) verifies too
        p384 = mp.Client(info["by_name"][name], info["ca_file"], KEY384)
        a = p384.call("POST", "/ucp/checkout-sessions",
                      mp.create_body(p384.version, [("tn-2420", 1)]))
        assert a.status == 201, a.body
    a = f.call("POST", "/ucp/checkout-sessions", body=body, omit=("Request-Id",))
    assert a.status == 400 and a.json()["code"] == "request_id_missing"
    created = f.call("POST", "/ucp/checkout-sessions", body=body)
    assert created.status == 201 and "signature" not in created.headers


def test_refusals_change_nothing(info):
    c = client(info, "plain")
    before = c.admin()
    body = json.dumps(mp.create_body(c.version, [("tn-2420", 1)])).encode()
    c.call("POST", "/ucp/checkout-sessions", body=body, sign=False)
    c.call("POST", "/ucp/checkout-sessions", body=b"{not json", headers={})
    after = c.admin()
    assert before["sessions"] == after["sessions"] == []
    assert c.call("POST", "/negotiation/negotiations", rfq()).status == 404  # extension off


def test_delay(info):
    c = client(info, "switch")
    misbehave(c, delay_ms=800, operations=["get_checkout"])
    ready = ready_checkout(c)
    start = time.monotonic()
    a = c.call("GET", f"/ucp/checkout-sessions/{ready['id']}")
    assert a.status == 200 and time.monotonic() - start >= 0.8
    start = time.monotonic()
    c.call("POST", "/ucp/checkout-sessions", mp.create_body(c.version, [("tn-2420", 1)]))
    assert time.monotonic() - start < 0.8, "only the operations listed misbehave"
    misbehave(c)


def test_server_error_then_recovery(info):
    c = client(info, "switch")
    misbehave(c, status=503, times=1, operations=["create_checkout"])
    key = str(uuid.uuid4())
    body = json.dumps(mp.create_body(c.version, [("tn-2420", 1)])).encode()
    a = c.call("POST", "/ucp/checkout-sessions", key=key, body=body)
    assert a.status == 503 and a.headers.get("retry-after") == "1"
    b = c.call("POST", "/ucp/checkout-sessions", key=key, body=body)  # a retry, same key
    assert b.status == 201, "a 5xx is not stored against the key; the retry runs"
    misbehave(c, status=500)
    assert c.call("GET", f"/ucp/checkout-sessions/{b.json()['id']}").status == 500
    misbehave(c)


def test_malformed_json(info):
    c = client(info, "switch")
    misbehave(c, malformed_json=True, operations=["create_checkout"])
    a = c.call("POST", "/ucp/checkout-sessions", mp.create_body(c.version, [("tn-2420", 1)]))
    try:
        a.json()
        raise AssertionError("the body should not parse")
    except json.JSONDecodeError:
        pass
    assert a.headers.get("content-type") == "application/json"
    misbehave(c)


def test_signatures(info):
    c = client(info, "switch")
    jwks = [info["by_name"]["switch"]["signing_key"]]
    good = c.call("GET", "/.well-known/ucp")
    assert mp.verify_response_signature(good, jwks) == (True, "ok")
    misbehave(c, signature="missing")
    a = c.call("POST", "/negotiation/negotiations", rfq())
    assert mp.verify_response_signature(a, jwks) == (False, "signature_missing")
    assert mp.verify_offer(a.json()["offer"], jwks) == (False, "signature_missing")
    misbehave(c, signature="wrong")
    a = c.call("POST", "/negotiation/negotiations", rfq())
    assert mp.verify_response_signature(a, jwks) == (False, "signature_invalid")
    assert mp.verify_offer(a.json()["offer"], jwks) == (False, "signature_invalid")
    misbehave(c)
    a = c.call("POST", "/negotiation/negotiations", rfq())
    assert mp.verify_response_signature(a, jwks) == (True, "ok")
    assert mp.verify_offer(a.json()["offer"], jwks) == (True, "ok")
    # 2026-01-11 never signs responses, but its offers are signed all the same.
    f = client(info, "switch-first")
    a = f.call("POST", "/negotiation/negotiations", rfq())
    assert "signature" not in a.headers
    assert mp.verify_offer(a.json()["offer"], [info["by_name"]["switch-first"]["signing_key"]]) \
        == (True, "ok")


def test_expired_offers_and_clock(info):
    c = client(info, "switch")
    misbehave(c, expired_offers=True)
    neg = c.call("POST", "/negotiation/negotiations", rfq()).json()
    now = c.admin("GET", "/_admin/clock")["now"]
    assert neg["offer"]["terms"]["valid_until"] < now
    a = c.call("POST", f"/negotiation/negotiations/{neg['id']}/accept",
               {"offer_id": neg["offer"]["id"], "offer_sha256": neg["offer"]["offer_sha256"]})
    assert a.status == 409 and a.json()["code"] == "offer_expired"
    misbehave(c)
    # An honest offer expires when the simulated clock passes valid_until.
    neg = c.call("POST", "/negotiation/negotiations", rfq()).json()
    c.admin("POST", "/_admin/clock", {"advance_seconds": 901})
    a = c.call("POST", f"/negotiation/negotiations/{neg['id']}/accept",
               {"offer_id": neg["offer"]["id"], "offer_sha256": neg["offer"]["offer_sha256"]})
    assert a.status == 409 and a.json()["code"] == "offer_expired"
    bad = c.call("POST", f"/negotiation/negotiations/{neg['id']}/accept",
                 {"offer_id": neg["offer"]["id"], "offer_sha256": "A" * 43})
    assert bad.status == 409 and bad.json()["code"] == "offer_mismatch"


def test_order_total_delta(info):
    for name in ("switch", "switch-first"):
        c = client(info, name)
        misbehave(c, order_total_delta=700, operations=["complete_checkout"])
        ready = ready_checkout(c)
        done = c.call("POST", f"/ucp/checkout-sessions/{ready['id']}/complete",
                      mp.complete_body(c.version)).json()
        assert mp.total_of(done) == mp.total_of(ready) + 700
        if c.version == "2026-04-08":
            order = c.call("GET", f"/ucp/orders/{done['order']['id']}").json()
            assert mp.total_of(order) == mp.total_of(ready) + 700
        misbehave(c)


def test_ignore_idempotency(info):
    c = client(info, "switch-first")
    before = len(c.admin()["sessions"])
    key = str(uuid.uuid4())
    body = json.dumps(mp.create_body(c.version, [("tn-2420", 1)])).encode()
    c.call("POST", "/ucp/checkout-sessions", key=key, body=body)
    c.call("POST", "/ucp/checkout-sessions", key=key, body=body)
    assert len(c.admin()["sessions"]) == before + 1, "honest: one session per key"
    misbehave(c, ignore_idempotency=True, operations=["create_checkout"])
    key = str(uuid.uuid4())
    c.call("POST", "/ucp/checkout-sessions", key=key, body=body)
    c.call("POST", "/ucp/checkout-sessions", key=key, body=body)
    assert len(c.admin()["sessions"]) == before + 3, "the misbehaving vendor duplicates"
    misbehave(c)


def test_hang_then_retry(info):
    c = client(info, "switch")
    ready = ready_checkout(c)
    misbehave(c, hang=True, times=1, operations=["complete_checkout"])
    key = str(uuid.uuid4())
    body = json.dumps(mp.complete_body(c.version)).encode()
    path = f"/ucp/checkout-sessions/{ready['id']}/complete"
    try:
        c.call("POST", path, key=key, body=body, timeout=1.5)
        raise AssertionError("a hanging vendor must not answer")
    except TimeoutError:
        pass
    # It did the work before going silent; the retry with the same key gets that answer.
    got = c.call("GET", f"/ucp/checkout-sessions/{ready['id']}").json()
    assert got["status"] == "completed"
    again = c.call("POST", path, key=key, body=body)
    assert again.status == 200 and again.json()["status"] == "completed"
    assert c.admin()["orders_per_idempotency_key"][key] == 1
    misbehave(c)


def test_concession(info):
    def curve(name):
        c = client(info, name)
        neg = c.call("POST", "/negotiation/negotiations", rfq()).json()
        totals = [mp.total_of(neg["offer"]["terms"])]
        for _ in range(6):
            neg = c.call("POST", f"/negotiation/negotiations/{neg['id']}/counter",
                         {"offer_id": neg["offer"]["id"], "total": 1000}).json()
            totals.append(mp.total_of(neg["offer"]["terms"]))
        return totals
    boulware, conceder = curve("honest"), curve("conceder")
    assert boulware[0] == conceder[0] and boulware[-1] == conceder[-1]
    assert boulware[1] > conceder[1], (boulware, conceder)  # Boulware holds out early
    assert boulware[0] - boulware[3] < conceder[0] - conceder[3]
    # A counter at or above the vendor's next price is taken as proposed.
    c = client(info, "conceder")
    neg = c.call("POST", "/negotiation/negotiations", rfq()).json()
    first = mp.total_of(neg["offer"]["terms"])
    neg = c.call("POST", f"/negotiation/negotiations/{neg['id']}/counter",
                 {"offer_id": neg["offer"]["id"], "total": first - 10}).json()
    assert mp.total_of(neg["offer"]["terms"]) == first - 10


def test_declines(info):
    c = client(info, "honest")
    a = c.call("POST", "/negotiation/negotiations",
               rfq(line_items=[{"item": {"id": "cr2032"}, "quantity": 50}])).json()
    assert a["status"] == "declined" and a["messages"][0]["code"] == "out_of_stock"
    a = c.call("POST", "/negotiation/negotiations", rfq(currency="USD")).json()
    assert a["status"] == "declined" and a["messages"][0]["code"] == "currency_unsupported"
    a = c.call("POST", "/negotiation/negotiations", rfq(reply_by="2020-01-01T00:00:00Z")).json()
    assert a["status"] == "declined" and a["messages"][0]["code"] == "reply_by_passed"


def test_extension_schemas(info):
    """The extension's own schemas (no UCP reference needed) hold the marketplace's answers."""
    import schemas
    neg = "https://stewardhub.org/schemas/negotiation/2026-12-01/"
    reg = schemas.Registry(None, os.environ["NEGOTIATION_SCHEMAS"])
    assert reg.check_schemas() >= 15
    for name in ("honest", "first"):
        c = client(info, name)
        body = rfq()
        reg.check(neg + "rfq.json", body, what="rfq")
        a = c.call("POST", "/negotiation/negotiations", body)
        reg.check(neg + "negotiation.json", a.json(), what="negotiation")
        reg.check(neg + "offer.json", a.json()["offer"]["terms"], what="offer")
        counter = {"offer_id": a.json()["offer"]["id"], "total": 3000}
        reg.check(neg + "counter.json", counter, what="counter")
        b = c.call("POST", f"/negotiation/negotiations/{a.json()['id']}/counter", counter)
        reg.check(neg + "negotiation.json", b.json(), what="negotiation")
        err = c.call("POST", f"/negotiation/negotiations/{a.json()['id']}/accept",
                     {"offer_id": a.json()["offer"]["id"], "offer_sha256": "B" * 43})
        assert err.status == 409
        reg.check(neg + "error.json", err.json(), what="error")
    leaked = dict(rfq(), reservation_price=4500)
    assert reg.errors(neg + "rfq.json", leaked), "an RFQ can never carry a reservation price"


def test_admin_state(info):
    c = client(info, "honest")
    state = c.admin()
    assert state["vendor"] == "honest" and state["version"] == "2026-04-08"
    ops = state["requests_per_operation"]
    assert ops["complete_checkout"] >= 3 and ops["create_negotiation"] >= 1
    assert state["requests"][-1]["path"].startswith("/")
    assert state["stock"]["tn-2420"] < 20


def test_platform_profile_fetch(info):
    """With fetch_platform_profile the vendor learns the platform's keys from the profile named
    in UCP-Agent (HTTPS, its CA from the config, no redirects) and caches it for 60 s."""
    key = mp.PlatformKey("platform-profile-key")
    profile = json.dumps({"ucp": {"version": "2026-04-08", "services": {}, "capabilities": {},
                                  "payment_handlers": {}},
                          "signing_keys": [key.jwk()]}).encode()
    pages = {"/profile": (200, profile), "/broken": (200, b"{not json"),
             "/moved": (302, b""), "/gone": (404, b"{}")}
    with mp.profile_host(pages) as (port, ca, hits):
        cfg = {"clock_start": "2026-12-01T09:00:00Z", "vendors": [
            mp.vendor(n, ver, request_signatures="verify", fetch_platform_profile=True,
                      platform_profile_ca_file=ca)
            for n, ver in (("fetching", "2026-04-08"), ("fetching-first", "2026-01-11"))]}
        with mp.marketplace(cfg) as own:
            for name in ("fetching", "fetching-first"):
                v = own["by_name"][name]
                url = f"https://127.0.0.1:{port}"
                c = mp.Client(v, own["ca_file"], key, profile=url + "/profile")
                body = mp.create_body(c.version, [("tn-2420", 1)])
                a = c.call("POST", "/ucp/checkout-sessions", body)
                assert a.status == 201, a.body
                a = c.call("POST", "/ucp/checkout-sessions", body)
                assert a.status == 201
                other = mp.Client(v, own["ca_file"], mp.PlatformKey("platform-profile-key"),
                                  profile=url + "/profile")
                a = other.call("POST", "/ucp/checkout-sessions", body)
                assert a.status == 401 and a.json()["code"] == "signature_invalid"
                for path, status, code in (("/broken", 422, "profile_malformed"),
                                           ("/moved", 424, "profile_unreachable"),
                                           ("/gone", 424, "profile_unreachable")):
                    c.profile = url + path
                    a = c.call("POST", "/ucp/checkout-sessions", body)
                    assert a.status == status and a.json()["code"] == code, (path, a.body)
                c.profile = "https://localhost:1/profile"  # nothing listens there
                a = c.call("POST", "/ucp/checkout-sessions", body)
                assert a.status == 424 and a.json()["code"] == "profile_unreachable"
            assert hits["/profile"] == 2, hits  # once per vendor, then cached
            assert hits.get("/elsewhere") is None, "redirects are not followed"


# ---- runner ------------------------------------------------------------------------------------

CLIENTS = {}


def client(info, name):
    if name not in CLIENTS:
        CLIENTS[name] = mp.Client(info["by_name"][name], info["ca_file"], KEY)
    return CLIENTS[name]


def main():
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    failed = []
    with mp.marketplace(config()) as info:
        for name, fn in tests:
            try:
                fn(info)
                print(f"ok   {name}")
            except Exception:  # noqa: BLE001 - report every failure, then fail
                failed.append(name)
                print(f"FAIL {name}")
                traceback.print_exc()
    if failed:
        print("failed:", ", ".join(failed))
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
