"""Results published back to members: what members as a whole said, per objective and
per domain, and what leadership is doing about it."""
