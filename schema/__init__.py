"""What the API looks like: strawberry types, inputs, enums, the root Query. No rules here."""
