#!/usr/bin/python3
"""Independent JOSE implementation for the signing tests: Debian's python3-jwcrypto.

Usage: jose_crosscheck.py MODE INPUT.json OUTPUT.json
  sign        {jwk, payload_b64u, kid, b64, detached} -> {token}
  verify      {jwk, token, detached_b64u|null}        -> {ok, error, payload_b64u}
  thumbprint  {jwk}                                    -> {thumbprint}
  generate    {crv}                                    -> {jwk}  (private, with kid)
Exit status 0 when the mode ran (a failed verification is reported in the output), 2 when
jwcrypto is missing, 1 on a usage error.
"""
import base64
import json
import sys

try:
    from jwcrypto import jwk, jws
except ImportError:
    sys.exit(2)


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64u_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main():
    mode, in_path, out_path = sys.argv[1:4]
    with open(in_path, encoding="utf-8") as f:
        req = json.load(f)
    out = {}
    if mode == "sign":
        key = jwk.JWK(**req["jwk"])
        alg = {"P-256": "ES256", "P-384": "ES384"}[req["jwk"]["crv"]]
        header = {"alg": alg, "kid": req["kid"]}
        if not req["b64"]:
            header["b64"] = False
            header["crit"] = ["b64"]
        payload = b64u_decode(req["payload_b64u"])
        obj = jws.JWS(payload)
        obj.add_signature(key, None, json.dumps(header))
        if req["detached"]:
            obj.detach_payload()
        out["token"] = obj.serialize(compact=True)
    elif mode == "verify":
        key = jwk.JWK(**req["jwk"])
        obj = jws.JWS()
        try:
            obj.deserialize(req["token"])
            if req.get("detached_b64u") is not None:
                # jwcrypto 1.1 has no detached-payload argument: put the payload in place.
                obj.objects["payload"] = b64u_decode(req["detached_b64u"])
            elif json.loads(b64u_decode(req["token"].split(".")[0])).get("b64") is False:
                obj.objects["payload"] = req["token"].split(".")[1].encode()
            obj.verify(key)
            out = {"ok": True, "error": "", "payload_b64u": b64u_encode(obj.payload)}
        except Exception as e:  # every failure is a result to report, not a crash
            out = {"ok": False, "error": repr(e), "payload_b64u": ""}
    elif mode == "thumbprint":
        out["thumbprint"] = jwk.JWK(**req["jwk"]).thumbprint()
    elif mode == "generate":
        key = jwk.JWK.generate(kty="EC", crv=req["crv"])
        priv = json.loads(key.export_private())
        priv["kid"] = key.thumbprint()
        out["jwk"] = priv
    else:
        sys.exit(1)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
