"""Accounts: sign-up, sign-in, verification, password changes and resets."""
