"""Action plans: leadership's actions on objectives, their notes, the overdue view and the
per-domain roll-up. Every change is audited; published actions are what members see."""
