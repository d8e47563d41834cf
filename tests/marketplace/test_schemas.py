#!/usr/bin/env python3
"""Drives the real marketplace through a whole purchase per UCP version — profile, checkout
create / update (buyer, address, option) / get / complete / cancel, order read, errors, and the
negotiation extension from RFQ to a negotiated checkout — and checks every request sent and
every answer received against UCP's own JSON Schemas for that version (and the extension's
schemas), resolved locally. Skips (77) when ../shared is absent, except with CI=true."""

import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import marketplace as mp  # noqa: E402

UCP = "https://ucp.dev/schemas/"
NEG = "https://stewardhub.org/schemas/negotiation/2026-12-01/"
REFS = {
    "2026-04-08": {
        "profile": UCP + "discovery/profile.json#/$defs/business_profile",
        "checkout": UCP + "shopping/fulfillment.json#/$defs/dev.ucp.shopping.checkout",
        "error": UCP + "shopping/types/error_response.json",
        "order": UCP + "shopping/order.json",
        "complete_request": UCP + "shopping/fulfillment.json#/$defs/dev.ucp.shopping.checkout",
    },
    "2026-01-11": {
        "profile": UCP + "discovery/profile.json",
        "checkout": UCP + "shopping/fulfillment.json#/$defs/checkout",
        "complete_request": UCP + "shopping/payment_data.json",
    },
}


def registries():
    reference = os.environ.get("UCP_REFERENCE", "")
    extension = os.environ["NEGOTIATION_SCHEMAS"]
    if not os.path.isdir(reference):
        if os.environ.get("CI", "").lower() == "true":
            print(f"FAIL: UCP reference schemas not found at {reference} (required under CI)")
            sys.exit(1)
        print(f"SKIPPED: UCP reference schemas not found at {reference}")
        sys.exit(mp.SKIP)
    import schemas  # needs python3-jsonschema
    return {v: schemas.Registry(os.path.join(reference, "v" + v, "source"), extension)
            for v in REFS}


def tax(net, bp=1900):
    """The vendors' tax: basis points, rounded half up."""
    return (net * bp * 2 + 10000) // 20000


class Flow:
    """One version's client, checking each request and answer as it goes."""

    def __init__(self, registry, client, jwks):
        self.reg = registry
        self.client = client
        self.version = client.version
        self.refs = REFS[self.version]
        self.jwks = jwks
        self.checked = 0

    def answer(self, a, ref, status=(200, 201), what=""):
        assert a.status in status, f"{what}: HTTP {a.status} {a.body[:500]}"
        doc = a.json()
        self.reg.check(ref, doc, what=what + " answer")
        if self.version == "2026-04-08":
            ok, why = mp.verify_response_signature(a, self.jwks)
            assert ok, f"{what}: response signature: {why}"
        else:
            assert "signature" not in a.headers, "2026-01-11 responses are never signed"
        self.checked += 1
        return doc

    def request(self, ref, body, op, what):
        self.reg.check(ref, body, op=op, what=what + " request")
        self.checked += 1

    def checkout_call(self, method, path, body, op, what, status=(200, 201)):
        if body is not None:
            ref = self.refs["complete_request"] if op == "complete" else self.refs["checkout"]
            self.request(ref, body, op, what)
        a = self.client.call(method, path, body, operation=what)
        return self.answer(a, self.refs["checkout"], status, what)


def plain_purchase(f):
    v = f.version
    c = f.client
    prof = f.answer(c.call("GET", "/.well-known/ucp"), f.refs["profile"], what="profile")
    assert prof["ucp"]["version"] == v
    caps = prof["ucp"]["capabilities"]
    names = list(caps) if isinstance(caps, dict) else [x["name"] for x in caps]
    assert "org.stewardhub.commerce.negotiation" in names, names
    assert prof["signing_keys"][0]["crv"] == "P-256"

    created = f.checkout_call("POST", "/ucp/checkout-sessions",
                              mp.create_body(v, [("tn-2420", 2)]), "create", "create_checkout",
                              status=(201,))
    assert created["status"] == "incomplete"
    cid = created["id"]
    with_address = f.checkout_call("PUT", f"/ucp/checkout-sessions/{cid}",
                                   mp.update_body(v, created), "update", "update_checkout")
    options = with_address["fulfillment"]["methods"][0]["groups"][0]["options"]
    assert {o["id"] for o in options} == {"standard", "express"}
    ready = f.checkout_call("PUT", f"/ucp/checkout-sessions/{cid}",
                            mp.update_body(v, with_address, with_option="express"), "update",
                            "update_checkout")
    assert ready["status"] == "ready_for_complete", ready
    # 2 × 54.90 + 9.95 express, 19 % tax on both.
    assert mp.total_of(ready) == 10980 + 995 + tax(10980 + 995), ready["totals"]
    got = f.answer(c.call("GET", f"/ucp/checkout-sessions/{cid}"), f.refs["checkout"],
                   what="get_checkout")
    assert got["status"] == "ready_for_complete"
    done = f.checkout_call("POST", f"/ucp/checkout-sessions/{cid}/complete",
                           mp.complete_body(v), "complete", "complete_checkout")
    assert done["status"] == "completed" and done["order"]["id"]
    assert mp.total_of(done) == mp.total_of(ready)
    if v == "2026-04-08":
        order = f.answer(c.call("GET", f"/ucp/orders/{done['order']['id']}"), f.refs["order"],
                         what="get_order")
        assert order["checkout_id"] == cid and mp.total_of(order) == mp.total_of(done)
        assert order["fulfillment"]["events"] == []
        c.admin("POST", "/_admin/clock", {"advance_seconds": 2 * 86400})  # express: 1 day
        order = f.answer(c.call("GET", f"/ucp/orders/{done['order']['id']}"), f.refs["order"],
                         what="get_order (delivered)")
        assert [e["type"] for e in order["fulfillment"]["events"]] == ["shipped", "delivered"]
        assert all(li["status"] == "fulfilled" for li in order["line_items"])

    other = f.checkout_call("POST", "/ucp/checkout-sessions", mp.create_body(v, [("cr2032", 1)]),
                            "create", "create_checkout", status=(201,))
    canceled = f.answer(c.call("POST", f"/ucp/checkout-sessions/{other['id']}/cancel"),
                        f.refs["checkout"], what="cancel_checkout")
    assert canceled["status"] == "canceled"

    # A business outcome with no resource: HTTP 200, ucp.status error, messages.
    body = mp.create_body(v, [("no-such-item", 1)])
    f.request(f.refs["checkout"], body, "create", "create_checkout (unknown item)")
    a = c.call("POST", "/ucp/checkout-sessions", body)
    assert a.status == 200, a.body
    doc = a.json()
    assert doc["messages"][0]["code"] == "item_unavailable"
    if v == "2026-04-08":
        f.answer(a, f.refs["error"], what="create_checkout (unknown item)")


def negotiated_purchase(f):
    v = f.version
    c = f.client
    rfq = {"rfq_id": str(uuid.uuid4()),
           "line_items": [{"item": {"id": "tn-2420"}, "quantity": 1}],
           "need_by": "2026-12-20", "region": {"country": "DE", "postal_prefix": "10"},
           "reply_by": "2099-01-01T00:00:00Z", "max_rounds": 6, "currency": "EUR"}
    f.request(NEG + "rfq.json", rfq, None, "create_negotiation")
    neg = f.answer(c.call("POST", "/negotiation/negotiations", rfq), NEG + "negotiation.json",
                   status=(201,), what="create_negotiation")
    assert neg["status"] == "open"
    ok, why = mp.verify_offer(neg["offer"], f.jwks)
    assert ok, why
    f.reg.check(NEG + "offer.json", neg["offer"]["terms"], what="offer terms")
    first = neg["offer"]["terms"]
    totals = [mp.total_of(first)]
    # Counter low every round; the vendor concedes (Boulware here: slowly, then to its floor).
    for _ in range(6):
        counter = {"offer_id": neg["offer"]["id"], "total": 4000}
        f.request(NEG + "counter.json", counter, None, "counter_offer")
        neg = f.answer(c.call("POST", f"/negotiation/negotiations/{neg['id']}/counter", counter),
                       NEG + "negotiation.json", what="counter_offer")
        ok, why = mp.verify_offer(neg["offer"], f.jwks)
        assert ok, why
        totals.append(mp.total_of(neg["offer"]["terms"]))
    assert totals == sorted(totals, reverse=True) and totals[-1] < totals[0], totals
    floor = 4690 + 495 + tax(4690 + 495)
    assert totals[-1] == floor, (totals, floor)
    assert neg["offer"]["terms"]["final"] is True
    extra = c.call("POST", f"/negotiation/negotiations/{neg['id']}/counter",
                   {"offer_id": neg["offer"]["id"], "total": 4000})
    assert extra.status == 409
    f.reg.check(NEG + "error.json", extra.json(), what="rounds_exhausted")
    assert extra.json()["code"] == "rounds_exhausted"

    accept = {"offer_id": neg["offer"]["id"], "offer_sha256": neg["offer"]["offer_sha256"]}
    f.request(NEG + "accept.json", accept, None, "accept_offer")
    accepted = f.answer(c.call("POST", f"/negotiation/negotiations/{neg['id']}/accept", accept),
                        NEG + "negotiation.json", what="accept_offer")
    assert accepted["status"] == "accepted"

    binding = {"negotiation_id": neg["id"], **accept}
    body = mp.create_body(v, [("tn-2420", 1)], negotiation=binding)
    f.request(NEG + "extension.json#/$defs/dev.ucp.shopping.checkout", body, "create",
              "create_checkout (negotiated)")
    created = f.checkout_call("POST", "/ucp/checkout-sessions", body, "create",
                              "create_checkout (negotiated)", status=(201,))
    f.reg.check(NEG + "extension.json#/$defs/dev.ucp.shopping.checkout", created,
                what="negotiated checkout")
    assert mp.total_of(created) == floor, created["totals"]
    cid = created["id"]
    step = f.checkout_call("PUT", f"/ucp/checkout-sessions/{cid}", mp.update_body(v, created),
                           "update", "update_checkout (negotiated)")
    step = f.checkout_call("PUT", f"/ucp/checkout-sessions/{cid}",
                           mp.update_body(v, step, with_option="negotiated"), "update",
                           "update_checkout (negotiated)")
    assert step["status"] == "ready_for_complete", step
    done = f.checkout_call("POST", f"/ucp/checkout-sessions/{cid}/complete",
                           mp.complete_body(v), "complete", "complete_checkout (negotiated)")
    assert done["status"] == "completed" and mp.total_of(done) == floor

    # Decline ends a second negotiation.
    rfq2 = dict(rfq, rfq_id=str(uuid.uuid4()))
    f.request(NEG + "rfq.json", rfq2, None, "create_negotiation")
    neg2 = f.answer(c.call("POST", "/negotiation/negotiations", rfq2), NEG + "negotiation.json",
                    status=(201,), what="create_negotiation")
    decline = {"reason": "A better offer was accepted elsewhere."}
    f.request(NEG + "decline.json", decline, None, "decline")
    ended = f.answer(c.call("POST", f"/negotiation/negotiations/{neg2['id']}/decline", decline),
                     NEG + "negotiation.json", what="decline")
    assert ended["status"] == "ended"
    got = f.answer(c.call("GET", f"/negotiation/negotiations/{neg2['id']}"),
                   NEG + "negotiation.json", what="get_negotiation")
    assert got["status"] == "ended"


def main():
    regs = registries()
    key = mp.PlatformKey()
    config = {"clock_start": "2026-12-01T09:00:00Z",
              "vendors": [mp.vendor("current", "2026-04-08", request_signatures="verify",
                                    platform_keys=[key.jwk()]),
                          mp.vendor("first", "2026-01-11", request_signatures="verify",
                                    platform_keys=[key.jwk()])]}
    with mp.marketplace(config) as info:
        for name in ("current", "first"):
            v = info["by_name"][name]
            client = mp.Client(v, info["ca_file"], key)
            flow = Flow(regs[v["version"]], client, [v["signing_key"]])
            plain_purchase(flow)
            negotiated_purchase(flow)
            state = client.admin()
            assert all(r["signed"] for r in state["requests"]), "every request was signed"
            assert all(r["status"] < 400 or r["status"] == 409 for r in state["requests"]), \
                [r for r in state["requests"] if r["status"] >= 400]
            print(f"{name} ({v['version']}): {flow.checked} messages valid against the schemas")
    print("PASS")


if __name__ == "__main__":
    main()
