"""Invitation and reminder campaigns: admins invite an audience to a survey; the job
queue sends the invitation and the reminders (to those who have not taken part)."""
