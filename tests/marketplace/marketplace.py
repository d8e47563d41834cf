"""Test support for the marketplace: start the real server, and a small UCP platform client
written independently of both the server and the daemon (Python's ssl + http.client, ES256 from
python3-cryptography) that signs requests as each UCP version asks and verifies what it gets."""

import base64
import contextlib
import hashlib
import http.client
import json
import os
import signal
import ssl
import subprocess
import tempfile
import time
import uuid

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import (
        decode_dss_signature, encode_dss_signature)
    import jsonschema  # noqa: F401 - checked here so the message below covers both
except ImportError as missing:
    raise SystemExit(f"The marketplace tests need Debian's python3-cryptography and "
                     f"python3-jsonschema ({missing}); scripts/deps installs them.")

PLATFORM_PROFILE = "https://platform.example/.well-known/ucp"
SKIP = 77


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def int_bytes(n, width=32):
    return n.to_bytes(width, "big")


class PlatformKey:
    """The platform's key (P-256, or P-384 for ES384): signs requests, published as a JWK."""

    def __init__(self, kid="platform-test", curve="P-256"):
        self.kid = kid
        self.curve = curve
        self.alg, self.width, self.hash = (("ES256", 32, hashes.SHA256) if curve == "P-256"
                                           else ("ES384", 48, hashes.SHA384))
        self.key = ec.generate_private_key(ec.SECP256R1() if curve == "P-256" else ec.SECP384R1())

    def jwk(self):
        numbers = self.key.public_key().public_numbers()
        return {"kid": self.kid, "kty": "EC", "crv": self.curve, "use": "sig", "alg": self.alg,
                "x": b64url(int_bytes(numbers.x, self.width)),
                "y": b64url(int_bytes(numbers.y, self.width))}

    def sign(self, data):
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(self.hash())))
        return int_bytes(r, self.width) + int_bytes(s, self.width)


def verify_es256(jwk, data, raw):
    """True when `raw` (r||s) is a valid ES256 signature of `data` by the P-256 `jwk`."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or len(raw) != 64:
        return False
    public = ec.EllipticCurvePublicNumbers(
        int.from_bytes(unb64url(jwk["x"]), "big"), int.from_bytes(unb64url(jwk["y"]), "big"),
        ec.SECP256R1()).public_key()
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(der, data, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def content_digest(body):
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


def parse_signature_input(value):
    """`sig1=("@status" ...);created=1;keyid="k"` -> (label, components, params, keyid)."""
    label, rest = value.split("=", 1)
    inner, params = rest[1:].split(")", 1)
    components = [c.strip('"') for c in inner.split(" ") if c]
    keyid = None
    for part in params.split(";"):
        if part.startswith("keyid="):
            keyid = part[len("keyid="):].strip('"')
    return label, components, params, keyid


def verify_response_signature(response, jwks):
    """RFC 9421 response verification as UCP 2026-04-08 signs: returns (ok, reason)."""
    sig_input = response.headers.get("Signature-Input")
    signature = response.headers.get("Signature")
    if not sig_input or not signature:
        return False, "signature_missing"
    if response.headers.get("Content-Digest") != content_digest(response.body):
        return False, "digest_mismatch"
    label, components, params, keyid = parse_signature_input(sig_input)
    lines = []
    for c in components:
        if c == "@status":
            lines.append(f'"@status": {response.status}')
        else:
            lines.append(f'"{c}": {response.headers.get(c, "").strip()}')
    quoted = " ".join(f'"{c}"' for c in components)
    lines.append(f'"@signature-params": ({quoted}){params}')
    base = "\n".join(lines).encode()
    prefix = label + "=:"
    if not signature.startswith(prefix) or not signature.endswith(":"):
        return False, "signature_invalid"
    raw = base64.b64decode(signature[len(prefix):-1])
    key = next((k for k in jwks if k.get("kid") == keyid), None)
    if key is None:
        return False, "key_not_found"
    return (True, "ok") if verify_es256(key, base, raw) else (False, "signature_invalid")


def verify_offer(offer, jwks):
    """A negotiation offer: compact JWS over the exact terms; its hash binds accept."""
    jws = offer.get("jws")
    if not jws:
        return False, "signature_missing"
    head_b64, payload_b64, sig_b64 = jws.split(".")
    head = json.loads(unb64url(head_b64))
    payload = unb64url(payload_b64)
    if head.get("alg") != "ES256":
        return False, "algorithm_unsupported"
    key = next((k for k in jwks if k.get("kid") == head.get("kid")), None)
    if key is None:
        return False, "key_not_found"
    if not verify_es256(key, f"{head_b64}.{payload_b64}".encode(), unb64url(sig_b64)):
        return False, "signature_invalid"
    if b64url(hashlib.sha256(payload).digest()) != offer["offer_sha256"]:
        return False, "hash_mismatch"
    if json.loads(payload) != offer["terms"]:
        return False, "terms_differ"
    return True, "ok"


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


class Client:
    """One UCP platform talking to one vendor, signing as the vendor's UCP version asks."""

    def __init__(self, vendor, ca_file, key, timeout=10.0, profile=PLATFORM_PROFILE):
        self.vendor = vendor
        self.profile = profile
        self.version = vendor["version"]
        self.port = vendor["port"]
        self.key = key
        self.timeout = timeout
        self.context = ssl.create_default_context(cafile=ca_file)
        self.sent = []  # (operation, method, path, body bytes) for schema checks

    def raw(self, method, path, body=None, headers=None, timeout=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context,
                                           timeout=timeout or self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return Answer(resp.status, _Headers(resp.getheaders()), data)
        finally:
            conn.close()

    def call(self, method, path, payload=None, key=None, operation=None, headers=None,
             sign=True, timeout=None, body=None, omit=()):
        if body is None and payload is not None:
            body = json.dumps(payload, separators=(",", ":")).encode()
        h = {"UCP-Agent": f'profile="{self.profile}"', "Accept": "application/json",
             "Host": f"127.0.0.1:{self.port}"}
        if body is not None:
            h["Content-Type"] = "application/json"
        if method in ("POST", "PUT"):
            h["Idempotency-Key"] = key or str(uuid.uuid4())
        if self.version == "2026-01-11":
            h["Request-Id"] = str(uuid.uuid4())
        if sign:
            h.update(self.signature_headers(method, path, body, h))
        if headers:
            h.update(headers)
        for name in omit:
            h.pop(name, None)
        self.sent.append((operation, method, path, body))
        return self.raw(method, path, body=body, headers=h, timeout=timeout)

    def signature_headers(self, method, path, body, h):
        if self.version == "2026-01-11":
            # Detached JWS with an unencoded payload (RFC 7797) over the body.
            head = b64url(json.dumps({"alg": self.key.alg, "kid": self.key.kid, "b64": False,
                                      "crit": ["b64"]}).encode())
            signed = head.encode() + b"." + (body or b"")
            return {"Request-Signature": f"{head}..{b64url(self.key.sign(signed))}"}
        out = {}
        components = ["@method", "@authority", "@path", "ucp-agent"]
        values = {"@method": method, "@authority": h["Host"], "@path": path,
                  "ucp-agent": h["UCP-Agent"]}
        if "Idempotency-Key" in h:
            components.append("idempotency-key")
            values["idempotency-key"] = h["Idempotency-Key"]
        if body is not None:
            out["Content-Digest"] = content_digest(body)
            components += ["content-digest", "content-type"]
            values["content-digest"] = out["Content-Digest"]
            values["content-type"] = h["Content-Type"]
        quoted = " ".join(f'"{c}"' for c in components)
        params = f"({quoted});created={int(time.time())};keyid=\"{self.key.kid}\""
        base = "\n".join(f'"{c}": {values[c]}' for c in components)
        base += f'\n"@signature-params": {params}'
        out["Signature-Input"] = f"sig1={params}"
        out["Signature"] = "sig1=:" + base64.b64encode(self.key.sign(base.encode())).decode() + ":"
        return out

    def admin(self, method="GET", path="/_admin/state", payload=None):
        body = json.dumps(payload).encode() if payload is not None else None
        answer = self.raw(method, path, body=body,
                          headers={"Content-Type": "application/json"} if body else {})
        assert answer.status == 200, (answer.status, answer.body)
        return answer.json()


class _Headers(dict):
    """Case-insensitive response headers."""

    def __init__(self, pairs):
        super().__init__((k.lower(), v) for k, v in pairs)

    def get(self, key, default=None):
        return super().get(key.lower(), default)

    def __contains__(self, key):
        return super().__contains__(key.lower())


@contextlib.contextmanager
def marketplace(config):
    """Starts steward-marketplace with `config`; yields its announcement; stops it by PID."""
    binary = os.environ.get("MARKETPLACE_BIN")
    if not binary:
        raise SystemExit("MARKETPLACE_BIN is not set (run through ctest)")
    with tempfile.TemporaryDirectory(prefix="marketplace-test-") as tmp:
        config_path = os.path.join(tmp, "config.json")
        ports = os.path.join(tmp, "ports.json")
        with open(config_path, "w") as f:
            json.dump(config, f)
        errors = open(os.path.join(tmp, "stderr"), "w+")
        proc = subprocess.Popen([binary, "--config", config_path, "--state-dir",
                                 os.path.join(tmp, "state"), "--ports-file", ports],
                                stdout=subprocess.DEVNULL, stderr=errors)
        try:
            deadline = time.monotonic() + 60
            while not os.path.exists(ports):
                if proc.poll() is not None:
                    errors.seek(0)
                    raise AssertionError("marketplace exited: " + errors.read())
                if time.monotonic() > deadline:
                    raise AssertionError("marketplace did not announce its ports")
                time.sleep(0.05)
            with open(ports) as f:
                info = json.load(f)
            info["by_name"] = {v["name"]: v for v in info["vendors"]}
            yield info
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            errors.seek(0)
            stderr = errors.read()
            errors.close()
        if code != 0 or stderr.strip():
            raise AssertionError(f"marketplace ended with {code}: {stderr}")


def vendor(name, version, **extra):
    v = {"name": name, "version": version, "currency": "EUR", "tax_rate_bp": 1900,
         "shipping": {"standard": 495, "express": 995},
         "delivery_days": {"standard": 3, "express": 1},
         "negotiation": {"enabled": True, "max_rounds": 6, "exponent": 0.2},
         "catalogue": [{"id": "tn-2420", "title": "Brother TN-2420 toner", "price": 5490,
                        "reservation": 4690, "stock": 20},
                       {"id": "cr2032", "title": "CR2032 cell", "price": 199, "stock": 3}]}
    v.update(extra)
    return v


ADDRESS = {"street_address": "Hauptstr. 1", "address_locality": "Berlin",
           "postal_code": "10115", "address_country": "DE",
           "first_name": "Alex", "last_name": "Muster"}
BUYER = {"email": "owner@example.org", "first_name": "Alex", "last_name": "Muster"}


def create_body(version, items, **extra):
    body = {"line_items": [{"item": {"id": i}, "quantity": q} for i, q in items]}
    if version == "2026-01-11":
        body["currency"] = "EUR"
        body["payment"] = {}
    body.update(extra)
    return body


def update_body(version, checkout, with_option=None, buyer=True):
    """A full-replacement PUT: line items, buyer, and the address or the option chosen."""
    body = {"line_items": [{"id": li["id"], "item": {"id": li["item"]["id"]},
                            "quantity": li["quantity"]} for li in checkout["line_items"]]}
    if version == "2026-01-11":
        body["id"] = checkout["id"]
        body["currency"] = checkout["currency"]
        body["payment"] = {}
    if buyer:
        body["buyer"] = BUYER
    method = checkout["fulfillment"]["methods"][0]
    m = {"id": method["id"], "line_item_ids": method["line_item_ids"]}
    if version != "2026-01-11":
        m["type"] = "shipping"
    if with_option is None:
        m["destinations"] = [ADDRESS]
    else:
        group = method["groups"][0]
        m["selected_destination_id"] = method["selected_destination_id"]
        m["destinations"] = method["destinations"]
        m["groups"] = [{"id": group["id"], "selected_option_id": with_option}]
    body["fulfillment"] = {"methods": [m]}
    return body


def complete_body(version, handler_id="tokenizer_1"):
    if version == "2026-01-11":
        return {"payment_data": {"id": "instr_1", "handler_id": handler_id, "type": "card",
                                 "brand": "visa", "last_digits": "4242",
                                 "credential": {"type": "token", "token": "tok_test_4242"}}}
    return {"payment": {"instruments": [{"id": "instr_1", "handler_id": handler_id,
                                         "type": "card",
                                         "credential": {"type": "token",
                                                        "token": "tok_test_4242"}}]}}


def total_of(doc):
    return next(t["amount"] for t in doc["totals"] if t["type"] == "total")


def _test_ca(tmp):
    """A CA and a 127.0.0.1 server certificate for the platform's profile host."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID
    import ipaddress
    now = datetime.datetime.utcnow()

    def build(subject, issuer, key, signer, ca):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(hours=1))
             .not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return b.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "platform test CA")])
    ca = build(ca_name, ca_name, ca_key, ca_key, True)
    leaf = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), ca_name,
                 leaf_key, ca_key, False)
    paths = {n: os.path.join(tmp, n) for n in ("ca.pem", "leaf.pem", "leaf.key")}
    with open(paths["ca.pem"], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["leaf.pem"], "wb") as f:
        f.write(leaf.public_bytes(serialization.Encoding.PEM))
    with open(paths["leaf.key"], "wb") as f:
        f.write(leaf_key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return paths


@contextlib.contextmanager
def profile_host(pages):
    """Serves {path: (status, body bytes)} over HTTPS on 127.0.0.1 with its own CA; yields
    (port, ca_file, hits) where hits counts GETs per path."""
    import http.server
    import threading
    hits = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            hits[self.path] = hits.get(self.path, 0) + 1
            status, body = pages.get(self.path, (404, b"{}"))
            self.send_response(status)
            if status in (301, 302):
                self.send_header("Location", "https://127.0.0.1/elsewhere")
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=60")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with tempfile.TemporaryDirectory(prefix="platform-profile-") as tmp:
        paths = _test_ca(tmp)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(paths["leaf.pem"], paths["leaf.key"])
        server.socket = context.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_address[1], paths["ca.pem"], hits
        finally:
            server.shutdown()
            server.server_close()
