"""Demo data for development: the catalog, a small world of customers, and their tokens."""

from app.services.demo.catalog import seed_catalog
from app.services.demo.seed import DemoSummary, seed_demo
from app.services.demo.tokens import demo_tokens

__all__ = ["DemoSummary", "demo_tokens", "seed_catalog", "seed_demo"]
