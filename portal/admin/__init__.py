"""The admin console: users and roles, registration and the roster, the plan editor
and the audit log. Every route is admin-only (enforced for all of /admin)."""
