"""What the Salesforce CRM provider needs to connect (built from Settings by the registry)."""

from __future__ import annotations

from dataclasses import dataclass

API_VERSION = "v61.0"


@dataclass(frozen=True, slots=True)
class SalesforceSettings:
    """`login_url` is where the JWT bearer assertion is exchanged for a session, and the
    assertion's audience (https://login.salesforce.com, or https://test.salesforce.com for a
    sandbox); data calls go to the session's `instance_url`. `private_key` is the connected
    app certificate's RSA private key as PEM text. `timeout_seconds` bounds one HTTP call."""

    login_url: str
    client_id: str  # the connected app's consumer key: the assertion's `iss`
    username: str  # the integration user: the assertion's `sub`
    private_key: str
    api_version: str = API_VERSION
    timeout_seconds: float = 5.0
    # How long an assertion is valid (Salesforce allows at most 3 minutes).
    assertion_seconds: int = 120
