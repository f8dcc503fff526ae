"""Helpers for the API tests: a JSON client with a bearer token, and readers of the answers."""

import json

from django.test import Client

from kruzhok.accounts.models import Membership
from kruzhok.accounts.services import api_token_issue

BASE = "/api/v1"


class ApiClient:
    """A phone talking JSON to /api/v1 with a bearer token (or with none)."""

    def __init__(self, key: str | None = None, language: str | None = None):
        self.client = Client()
        self.headers = {}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"
        if language:
            self.headers["Accept-Language"] = language

    def get(self, path: str, params: dict | None = None):
        return self.client.get(BASE + path, params or {}, headers=self.headers)

    def send(self, method: str, path: str, body=None, *, raw: str | bytes | None = None):
        data = raw if raw is not None else json.dumps(body if body is not None else {}, default=str)
        return getattr(self.client, method)(
            BASE + path, data=data, content_type="application/json", headers=self.headers
        )

    def post(self, path: str, body=None, **kwargs):
        return self.send("post", path, body, **kwargs)

    def patch(self, path: str, body=None, **kwargs):
        return self.send("patch", path, body, **kwargs)

    def delete(self, path: str):
        return self.client.delete(BASE + path, headers=self.headers)


def token_for(user, org=None) -> str:
    org = org or Membership.objects.filter(user=user).select_related("organization").first().organization
    return api_token_issue(user=user, org=org)


def error_code(response) -> str:
    return json.loads(response.content)["error"]["code"]


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["items"]]
