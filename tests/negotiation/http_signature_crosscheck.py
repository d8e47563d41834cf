#!/usr/bin/python3
"""Independent RFC 9421 / RFC 9530 implementation for the signing tests, written from the RFCs
with python3-cryptography and no code shared with the daemon.

Usage: http_signature_crosscheck.py MODE INPUT.json OUTPUT.json
  message: {method, target_uri, status, fields: [[name, value], ...], body_b64}
  verify  {message, jwk, label}                         -> {ok, error, base}
  sign    {message, jwk (with d), kid, label, components, created}
                                                         -> {fields: [[name, value], ...], base}
Exit status 0 when the mode ran, 2 when python3-cryptography is missing, 1 on a usage error.
"""
import base64
import hashlib
import json
import re
import sys
from urllib.parse import urlsplit

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils
except ImportError:
    sys.exit(2)

CURVES = {"P-256": (ec.SECP256R1(), hashes.SHA256(), 32), "P-384": (ec.SECP384R1(), hashes.SHA384(), 48)}


def b64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def field(msg, name):
    values = [v.strip(" \t") for n, v in msg["fields"] if n.lower() == name]
    if not values:
        raise ValueError("missing field " + name)
    return ", ".join(values)


def split_top(text):
    """Splits a dictionary at commas outside strings and parentheses."""
    parts, depth, quoted, cur, i = [], 0, False, "", 0
    while i < len(text):
        c = text[i]
        if quoted:
            cur += c
            if c == "\\":
                cur += text[i + 1]
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
            cur += c
        elif c == "(":
            depth += 1
            cur += c
        elif c == ")":
            depth -= 1
            cur += c
        elif c == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    if cur.strip():
        parts.append(cur.strip())
    return parts


def dictionary(text):
    out = {}
    for part in split_top(text):
        key, _, value = part.partition("=")
        out[key] = value
    return out


def derived(msg, name):
    if name == "@status":
        return str(msg["status"])
    url = urlsplit(msg["target_uri"])
    if name == "@method":
        return msg["method"]
    if name == "@target-uri":
        return msg["target_uri"]
    if name == "@scheme":
        return url.scheme.lower()
    if name == "@authority":
        host = url.hostname.lower()
        default = {"https": 443, "http": 80}.get(url.scheme.lower())
        return host if url.port in (None, default) else "%s:%d" % (host, url.port)
    if name == "@path":
        return url.path or "/"
    if name == "@query":
        return "?" + url.query
    if name == "@request-target":
        return (url.path or "/") + ("?" + url.query if url.query else "")
    raise ValueError("unsupported component " + name)


def base_for(msg, components, params_text):
    lines = []
    for name in components:
        value = derived(msg, name) if name.startswith("@") else field(msg, name)
        lines.append('"%s": %s' % (name, value))
    lines.append('"@signature-params": ' + params_text)
    return "\n".join(lines)


def check_digest(msg):
    body = base64.b64decode(msg["body_b64"])
    entries = dictionary(field(msg, "content-digest"))
    known = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
    checked = False
    for alg, value in entries.items():
        if alg in known:
            if value != ":" + base64.b64encode(known[alg](body).digest()).decode() + ":":
                raise ValueError("content-digest mismatch")
            checked = True
    if not checked:
        raise ValueError("no known digest")


def verify(req):
    msg, jwk = req["message"], req["jwk"]
    inputs = dictionary(field(msg, "signature-input"))
    sigs = dictionary(field(msg, "signature"))
    label = req["label"]
    params_text = inputs[label]
    m = re.fullmatch(r'\(([^)]*)\)(.*)', params_text)
    components = re.findall(r'"([^"]+)"', m.group(1))
    if "content-digest" in components:
        check_digest(msg)
    base = base_for(msg, components, params_text)
    curve, digest, size = CURVES[jwk["crv"]]
    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(b64u(jwk["x"]), "big"),
                                        int.from_bytes(b64u(jwk["y"]), "big"), curve).public_key()
    raw = base64.b64decode(sigs[label].strip(":"))
    if len(raw) != 2 * size:
        raise ValueError("signature length")
    der = utils.encode_dss_signature(int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big"))
    pub.verify(der, base.encode(), ec.ECDSA(digest))
    return base


def sign(req):
    msg, jwk = req["message"], req["jwk"]
    curve, digest, size = CURVES[jwk["crv"]]
    body = base64.b64decode(msg["body_b64"])
    fields = []
    if "content-digest" in req["components"]:
        cd = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
        msg["fields"].append(["Content-Digest", cd])
        fields.append(["Content-Digest", cd])
    params_text = "(" + " ".join('"%s"' % c for c in req["components"]) + ")"
    params_text += ";created=%d;keyid=\"%s\"" % (req["created"], req["kid"])
    base = base_for(msg, req["components"], params_text)
    key = ec.derive_private_key(int.from_bytes(b64u(jwk["d"]), "big"), curve)
    r, s = utils.decode_dss_signature(key.sign(base.encode(), ec.ECDSA(digest)))
    raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    fields.append(["Signature-Input", "%s=%s" % (req["label"], params_text)])
    fields.append(["Signature", "%s=:%s:" % (req["label"], base64.b64encode(raw).decode())])
    return {"fields": fields, "base": base}


def main():
    mode, in_path, out_path = sys.argv[1:4]
    with open(in_path, encoding="utf-8") as f:
        req = json.load(f)
    if mode == "verify":
        try:
            out = {"ok": True, "error": "", "base": verify(req)}
        except (InvalidSignature, ValueError, KeyError, AttributeError) as e:
            out = {"ok": False, "error": repr(e), "base": ""}
    elif mode == "sign":
        out = sign(req)
    else:
        sys.exit(1)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
