"""Local stand-ins for the outside world, speaking the real protocols over loopback.

FakeSMTP is a real SMTP server (aiosmtpd) that keeps what it accepts; FakeTelegram is an HTTP server
answering the Bot API's `sendMessage` with Telegram's JSON shapes, including 429 with `retry_after`.
"""

import json
import socket
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeSMTP:
    def __init__(self):
        self.received: list[dict] = []
        self.refuse: set[str] = set()  # addresses answered with 550
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(self, server, session, envelope: Envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: Envelope):  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=default_policy)
        self.received.append(
            {
                "to": list(envelope.rcpt_tos),
                "subject": str(parsed["Subject"]),
                "message_id": str(parsed["Message-ID"]),
                "body": parsed.get_body(preferencelist=("plain",)).get_content(),
            }
        )
        return "250 Message accepted for delivery"

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()


class FakeTelegram:
    """Bot API on loopback. `script` is a list of (status, json) answers used before the default."""

    def __init__(self, token: str):
        self.token = token
        self.received: list[dict] = []
        self.known_chats: set[str] = set()
        self.script: list[tuple[int, dict]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status, answer = fake.answer(self.path, raw)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, raw: bytes) -> tuple[int, dict]:
        with self.lock:
            if path != f"/bot{self.token}/sendMessage":
                return 401 if "/bot" in path else 404, {
                    "ok": False,
                    "error_code": 401,
                    "description": "Unauthorized",
                }
            try:
                data = json.loads(raw)
            except ValueError:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: can't parse JSON"}
            if self.script:
                status, answer = self.script.pop(0)
                if status != 200:
                    return status, answer
            chat_id = str(data.get("chat_id"))
            if chat_id not in self.known_chats:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            self.received.append(data)
            return 200, {
                "ok": True,
                "result": {
                    "message_id": len(self.received),
                    "chat": {"id": int(chat_id), "type": "private"},
                    "date": 1700000000,
                    "text": data.get("text", ""),
                },
            }

    def too_many_requests(self, retry_after: int) -> None:
        self.script.append(
            (
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                },
            )
        )

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class FakeSmsGateway:
    """The generic SMS gateway the SmsAdapter speaks: POST /send, bearer token, 429 with Retry-After."""

    def __init__(self, token: str):
        self.token = token
        self.received: list[dict] = []
        self.script: list[tuple[int, dict, dict]] = []  # (status, json, headers)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer, headers = fake.answer(self.path, self.headers, raw)
                body = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path, headers, raw) -> tuple[int, dict, dict]:
        if path != "/send":
            return 404, {"status": "error", "error": "not found"}, {}
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"status": "error", "error": "bad token"}, {}
        if self.script:
            return self.script.pop(0)
        data = json.loads(raw)
        if not str(data.get("to", "")).startswith("+"):
            return 400, {"status": "error", "error": "invalid phone"}, {}
        self.received.append({**data, "idempotency_key": headers.get("Idempotency-Key")})
        return 200, {"status": "ok", "id": f"sms-{len(self.received)}"}, {}

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakePushService:
    """A Web Push service plus the browser's half: it owns the subscriber's keys, checks the VAPID JWT
    signature and decrypts each aes128gcm payload, as a browser would."""

    def __init__(self):
        import os

        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.p256dh = _b64(
            self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        )
        self.auth = _b64(os.urandom(16))
        self.received: list[dict] = []
        self.script: list[tuple[int, dict]] = []  # (status, headers)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers = fake.answer(self.path, self.headers, raw)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.endpoint = f"{self.base_url}/push/abc123"

    def _vapid_ok(self, header: str) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        try:
            scheme, _, params = header.partition(" ")
            fields = dict(part.strip().split("=", 1) for part in params.split(","))
            token, key = fields["t"], fields["k"]
            signing_input, _, signature = token.rpartition(".")
            claims = json.loads(_unb64(signing_input.split(".")[1]))
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(key))
            raw = _unb64(signature)
            der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            public.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        except (KeyError, ValueError, InvalidSignature):
            return False
        return scheme.lower() == "vapid" and claims.get("aud") == self.base_url and "sub" in claims

    def answer(self, path, headers, raw) -> tuple[int, dict]:
        import http_ece

        if path != "/push/abc123":
            return 404, {}
        if not self._vapid_ok(headers.get("Authorization", "")):
            return 401, {}
        if self.script:
            return self.script.pop(0)
        if headers.get("Content-Encoding") != "aes128gcm":
            return 400, {}
        plain = http_ece.decrypt(
            raw, private_key=self.private_key, auth_secret=_unb64(self.auth), version="aes128gcm"
        )
        self.received.append({"ttl": headers.get("TTL"), **json.loads(plain)})
        return 201, {"Location": f"{self.base_url}/msg/{len(self.received)}"}

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def vapid_keys() -> tuple[str, str]:
    """A fresh application-server key pair as base64url raw keys (what the settings hold)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return _b64(private), _b64(public)
