"""Fulfillment API: everything below the GraphQL edge."""
