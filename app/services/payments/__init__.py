"""Payment methods and pay-now: a customer (or the partner that pays, or staff) puts a
provider's payment-method token on a billing account and charges an open invoice with it."""
