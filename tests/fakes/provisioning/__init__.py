"""A fake of the product's provisioning receiver, for the HTTP provisioning target."""

from tests.fakes.provisioning.server import FakeReceiver, Received

__all__ = ["FakeReceiver", "Received"]
