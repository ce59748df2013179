"""The methods page (/reports/methods): every estimate, interval, test, correction and
privacy rule the leadership pages use, in plain words, with formulas and references.

The page reads its numbers from the constants the code itself uses (the confidence
level, the privacy threshold, the flag thresholds, the withholding ladder, the exact-
test limits ...), never from copies, so the page and the figures cannot drift apart;
tests change a constant and see the page follow.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal import privacy, stats
from portal.disclosure import distribution
from portal.disclosure import ratings as disclosure_ratings
from portal.reports import disagree, heatmap, labels, participation, summary, themes, trends
from portal.stats import crosstab, ranks
from portal.stats import survey as survey_stats


@dataclass(frozen=True)
class Rung:
    """One step of the ratings withholding ladder, in words."""

    mean_digits: int
    interval: bool
    shares: bool

    @property
    def text(self) -> str:
        parts = [f"the mean to {self.mean_digits} decimal{'s' if self.mean_digits != 1 else ''}"]
        if self.interval:
            parts.append("its 95% interval")
        if self.shares:
            parts.append("the 4–5 and 1–2 shares")
        return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def _ladder() -> list[Rung]:
    return [Rung(*step) for step in disclosure_ratings.LADDER]


def constants() -> dict[str, object]:
    """Every figure the methods page states, read from where the code keeps it."""
    confidence = stats.CONFIDENCE
    low, high = stats.SCALE_BOUNDS
    gap_low, gap_high = stats.GAP_BOUNDS
    return {
        "confidence_pct": round(confidence * 100),
        "z": stats._z(confidence),
        "scale_low": low, "scale_high": high, "scale_steps": high - low,
        "gap_low": gap_low, "gap_high": gap_high, "gap_steps": stats.GAP_STEPS,
        "midpoint": labels.MIDPOINT_VALUE,
        "wide_share_pts": round(summary.WIDE_SHARE * 100),
        "wide_gap": summary.WIDE_GAP,
        "flag_share_pts": round(heatmap.SHARE_THRESHOLD * 100),
        "flag_mean": heatmap.MEAN_THRESHOLD,
        "alpha": heatmap.ALPHA,
        "trend_alpha": trends.ALPHA,
        "rank_alpha": ranks.ALPHA,
        "evidence_cap": disagree.EVIDENCE_CAP,
        "min_expected": crosstab.MIN_EXPECTED,
        "mc_tables": crosstab.MC_TABLES,
        "mc_seed": crosstab.MC_SEED,
        "cell_alpha": crosstab.CELL_ALPHA,
        "nps_add_n": survey_stats.NPS_ADD_N,
        "nps_add_each": survey_stats.NPS_ADD_EACH,
        "min_n": privacy.min_n(),
        "min_comments": privacy.min_comments(),
        "ladder": _ladder(),
        "full_digits": disclosure_ratings.FULL_DIGITS,
        "survey_mean_digits": distribution.MEAN_DECIMALS,
        "survey_pct_digits": distribution.PCT_DECIMALS,
        "theme_quotes": themes.QUOTES,
        "theme_max_docs": themes.MAX_DOCS,
        "eligible_base": participation.base_description(),
        "labels": labels.LABELS,
        "not_clear": labels.NOT_CLEAR,
        "concentrate": stats.CONCENTRATE,
        "keep_up": stats.KEEP_UP,
        "low_priority": stats.LOW_PRIORITY,
        "overkill": stats.OVERKILL,
    }
