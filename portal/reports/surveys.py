"""Survey highlights for the board report.

Surveys are a separate package. This is the one place the reports read them:
when a `portal.survey_results` module offering `board_highlights()` exists, its
highlights appear on the board report; until then there is nothing to show.

Contract for the surveys package: `board_highlights() -> list[dict]`, each dict
with "survey" (title), "text" (one sentence) and optionally "figure" (a string
already passed through portal.privacy).
"""

from __future__ import annotations

import importlib
import importlib.util


def survey_highlights() -> list[dict]:
    if importlib.util.find_spec("portal.survey_results") is None:
        return []
    module = importlib.import_module("portal.survey_results")
    provider = getattr(module, "board_highlights", None)
    if provider is None:
        return []
    return list(provider() or [])
