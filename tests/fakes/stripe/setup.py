"""The settings that point the app at a running fake (its URL, key and webhook secret)."""

from __future__ import annotations

from typing import Any

from tests.fakes.stripe.server import TEST_KEY, StripeFake

WEBHOOK_SECRET = "whsec_fake_0123456789abcdef"


def stripe_settings(fake: StripeFake) -> dict[str, Any]:
    return {
        "billing_provider": "stripe",
        "stripe_api_key": TEST_KEY,
        "stripe_api_base": fake.url,
        "stripe_webhook_secret": WEBHOOK_SECRET,
    }
