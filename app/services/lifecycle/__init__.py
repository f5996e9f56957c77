"""The billing lifecycle (docs/domain.md section 6) as worker jobs: reminders, quarterly
reconciliation, renewals with grace and payment retries, expiry of lapsed subscriptions and
trials. Each job derives what is due from stored dates and `now`, claims it FOR UPDATE SKIP
LOCKED, and holds the subscription's order lease while it changes it."""
