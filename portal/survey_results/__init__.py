"""Survey results for leadership: summaries, breakdowns, charts and exports."""
