"""The member's own account: profile, download my data, delete my account."""
