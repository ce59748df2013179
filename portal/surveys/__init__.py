"""Surveys for members: the list of open surveys, taking one page by page, submitting."""
