"""Orders: binding quotes and their exactly-once placement."""
