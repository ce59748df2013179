"""The strategic plan: reading pages, and import/export of the plan data file."""
