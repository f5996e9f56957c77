"""The settings that point the app at a running fake (its URL and OAuth client)."""

from __future__ import annotations

from typing import Any

from tests.fakes.zuora.server import CLIENT_ID, CLIENT_SECRET, ZuoraFake


def zuora_settings(fake: ZuoraFake) -> dict[str, Any]:
    return {
        "billing_provider": "zuora",
        "zuora_client_id": CLIENT_ID,
        "zuora_client_secret": CLIENT_SECRET,
        "zuora_api_base": fake.url,
    }
