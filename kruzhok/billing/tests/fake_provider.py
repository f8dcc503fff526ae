"""A local fake of the acquirer, speaking real HTTP on 127.0.0.1: it creates payments (honouring the
Idempotence-Key header), reports their status, and on `pay()` calls our webhook with a signed event."""

import base64
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kruzhok.billing.online import sign


class FakeProvider:
    def __init__(self, *, shop_id: str, secret: str, webhook_secret: str):
        self.shop_id, self.secret, self.webhook_secret = shop_id, secret, webhook_secret
        self.payments: dict[str, dict] = {}
        self.by_key: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        self.last_webhook: tuple[bytes, str, str] | None = None
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def _reply(self, status: int, data: dict):
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorised(self) -> bool:
                expected = base64.b64encode(f"{provider.shop_id}:{provider.secret}".encode()).decode()
                return self.headers.get("Authorization") == f"Basic {expected}"

            def do_POST(self):  # noqa: N802 — http.server's naming
                provider.requests.append(("POST", self.path))
                if not self._authorised():
                    return self._reply(401, {"type": "error", "code": "invalid_credentials"})
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers.get("Idempotence-Key", "")
                if key in provider.by_key:
                    return self._reply(200, provider.payments[provider.by_key[key]])
                pid = str(uuid.uuid4())
                payment = {
                    "id": pid,
                    "status": "pending",
                    "amount": body["amount"],
                    "confirmation": {"type": "redirect", "confirmation_url": f"{provider.url}/pay/{pid}"},
                    "metadata": body.get("metadata", {}),
                }
                provider.payments[pid] = payment
                provider.by_key[key] = pid
                return self._reply(200, payment)

            def do_GET(self):  # noqa: N802
                provider.requests.append(("GET", self.path))
                if not self._authorised():
                    return self._reply(401, {"type": "error"})
                pid = self.path.rsplit("/", 1)[-1]
                if pid not in provider.payments:
                    return self._reply(404, {"type": "error", "code": "not_found"})
                return self._reply(200, provider.payments[pid])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def webhook(self, url: str, pid: str, *, event: str = "payment.succeeded", secret=None, timestamp=None):
        body = json.dumps({"id": str(uuid.uuid4()), "event": event, "object": self.payments[pid]}).encode()
        timestamp = timestamp or str(int(time.time()))
        signature = sign(body, timestamp, secret or self.webhook_secret)
        self.last_webhook = (body, timestamp, signature)
        return self.send(url, body, timestamp, signature)

    def pay(self, url: str, pid: str):
        self.payments[pid]["status"] = "succeeded"
        return self.webhook(url, pid)

    @staticmethod
    def send(url: str, body: bytes, timestamp: str, signature: str) -> tuple[int, dict]:
        request = urllib.request.Request(  # noqa: S310 — the live server on loopback
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-Timestamp": timestamp, "X-Signature": signature},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 — loopback
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
