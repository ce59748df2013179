"""Feedback rounds: admins schedule them; they open and close by themselves."""
