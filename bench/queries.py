"""The GraphQL operations the bench sends."""

from __future__ import annotations

from pathlib import Path

DOCUMENTS = Path(__file__).resolve().parents[1] / "documents"


def readme_dashboard() -> str:
    """The README's dashboard as the frontend registers it (documents/dashboard.graphql)."""
    return (DOCUMENTS / "dashboard.graphql").read_text(encoding="utf-8")


# The billing dashboard: the owner's subscriptions with seat figures, plan, add-ons and the
# latest 3 invoices with their lines (about 12 objects per subscription: 600 at N=50).
DASHBOARD = """query Dashboard {
  subscriptions(first: 100) {
    nodes {
      id number status
      seats seatsInUse maxSeatsUsed seatsOwed seatsRemaining seatAlert
      termStart termEnd autoRenew
      plan { code name }
      addOns { quantity assignedSeats product { code name } }
      invoices(first: 3) {
        nodes {
          number status issuedOn
          total { amount currency formatted }
          lines { position description quantity amount { amount formatted } }
        }
      }
    }
  }
}"""


def small(number: str, alias: str | None = None) -> str:
    """One object by number; a new `alias` makes a query text the server has not seen."""
    field = f"{alias}: subscription" if alias else "subscription"
    return f'{{ {field}(number: "{number}") {{ number seats }} }}'


QUOTE = """mutation Quote($input: OrderInput!) {
  orderQuote(input: $input) {
    __typename
    ... on Quote { token total { amount } lines { kind amount { amount } } }
    ... on UserError { code message }
  }
}"""

PLACE = """mutation Place($token: String!, $key: String!) {
  orderPlace(quoteToken: $token, idempotencyKey: $key) {
    __typename
    ... on OrderPlacePayload { order { status total { amount } subscription { seats } } }
    ... on PaymentDeclinedError { declineCode }
    ... on UserError { code message }
  }
}"""


def add_seats_input(subscription_gid: str, seats: int = 1) -> dict[str, object]:
    return {"subscriptionId": subscription_gid, "actions": [{"addSeats": {"seats": seats}}]}
