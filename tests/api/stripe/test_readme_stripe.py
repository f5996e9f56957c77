"""The lines for a Stripe test account (docs/providers.md) name settings the app reads."""

from __future__ import annotations

import re
from pathlib import Path

from app.config import Settings

PROVIDERS = Path(__file__).resolve().parents[3] / "docs" / "providers.md"


def test_the_stripe_account_lines_name_real_settings() -> None:
    text = PROVIDERS.read_text()
    section = text[text.index("### Against a Stripe test account") :]
    block = section[section.index("```sh\n") : section.index("\n```\n")]
    named = set(re.findall(r"\b(?:BILLING_PROVIDER|STRIPE_[A-Z_]+)\b", block))

    assert named == {"BILLING_PROVIDER", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"}
    assert {name.lower() for name in named} <= set(Settings.model_fields)
    assert "/webhooks/stripe" in block and "--forward-to" in block
