"""Staff tools (docs/staff-tools.md): admin-only changes to a subscription, its license and
its provisioning, and a read-only view of a customer as its owner sees it. Every one needs
the admin's reason and writes an audit row; a refusal changes nothing."""
