"""A compiled path for trusted documents (docs/compiled-path.md): registered documents are
planned once per process (schema.compiled.plan) and executed from the plan
(schema.compiled.executor) instead of graphql-core's per-field walk, calling the same
resolvers; whatever the plan cannot prove it handles runs on the normal path."""
