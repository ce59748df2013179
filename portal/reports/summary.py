"""The leadership summary (/reports/): headline cards a board member reads first.

Each card is one plain sentence with its figure and its 95% interval, a few
supporting sentences, and a link to the page with the evidence. Every figure is the
published one (portal.reports.estimates through dashboard, trends, heatmap and
participation): a withheld figure stays withheld and a rounded one rounded; no card
computes anything from raw counts. Where an interval is too wide to rank on, the
card says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import url_for

from portal import privacy
from portal.models import FeedbackRound
from portal.numfmt import count, percent, percent_interval, points, pvalue, rank_range, signed
from portal.reports import dashboard, disagree, labels, participation, queries, trends
from portal.reports.estimates import SliceEstimate
from portal.survey_results.highlights import SurveyHighlight, board_highlights
from portal.timeutil import now_utc

# An interval wider than this cannot carry a ranking: the card says so.
WIDE_SHARE = 0.20        # 20 percentage points from end to end
WIDE_GAP = 1.0           # a whole scale point
TOP_N = 3


@dataclass
class Card:
    key: str
    heading: str
    sentence: str
    href: str
    link_text: str
    details: list[str] = field(default_factory=list)
    caveat: str = ""


@dataclass
class Summary:
    round: FeedbackRound
    dash: dashboard.Dashboard
    cards: list[Card]
    disagreements: list[disagree.Disagreement] = field(default_factory=list)
    trends: trends.Trends | None = None
    surveys: list[SurveyHighlight] = field(default_factory=list)
    participation: participation.Participation | None = None

    def card(self, key: str) -> Card | None:
        return next((c for c in self.cards if c.key == key), None)


def name(obj) -> str:
    """"D1 End operating deficit spending": the code and the shortened text."""
    return f"{obj.code} {labels.short_name(obj.text)}"


def _share_wide(p) -> bool:
    return p.lo is not None and p.hi - p.lo > WIDE_SHARE


def _gap_wide(m) -> bool:
    return m.lo is not None and m.hi - m.lo > WIDE_GAP


def _gap_text(e: SliceEstimate) -> str:
    d = e.digits("gap")
    g = e.gap
    text = f"gap {signed(g.mean, d)}"
    if g.lo is not None:
        text += f", {signed(g.lo, d)} to {signed(g.hi, d)}"
    return text


def participation_sentence(p: participation.Participation | None, rnd: FeedbackRound,
                           base: str) -> tuple[str, str]:
    """The participation card's sentence and its caveat."""
    if p is None:
        return f"No participation figures for {rnd.name}.", ""
    if p.reason:
        return (f"Participation in {rnd.name} is not shown, to protect a small group "
                f"({p.reason}).", "")
    if p.eligible is None:
        return (f"Fewer than {privacy.min_n()} members are eligible, so participation in "
                f"{rnd.name} is not shown.", "")
    if p.raters is None:
        return (f"Fewer than {privacy.min_n()} of the {count(p.eligible)} eligible members "
                f"have rated in {rnd.name} so far, so the number is not shown.", "")
    if p.rate is None:
        return (f"{count(p.raters)} members have rated in {rnd.name}; the eligible base is "
                "not known yet.", "")
    caveat = ""
    if p.rate < 0.1:
        caveat = ("Fewer than one in ten eligible members answered: the figures describe "
                  "those who chose to answer, not necessarily all members.")
    return (f"{count(p.raters)} of {count(p.eligible)} eligible members ({percent(p.rate)}) "
            f"rated objectives in {rnd.name}. Eligible: {base}.", caveat)


def priorities_card(dash: dashboard.Dashboard) -> Card | None:
    ranked = sorted((r for r in dash.rows if r.est.show_share() and r.est.imp_high.p is not None),
                    key=lambda r: -r.est.imp_high.p)
    href = url_for("reports.charts", round=dash.round.id, _anchor="fig-share-title")
    if not ranked:
        return Card("priorities", "Top priorities",
                    "No objective has enough answers on importance to rank yet.", href,
                    "Ranking chart")
    top = ranked[0]
    p = top.est.imp_high
    sentence = (f"{name(top.objective)}: {percent(p.p)} of members rate it important "
                f"({percent_interval(p.lo, p.hi)})")
    total = sum(1 for r in dash.rows if r.rank is not None)
    if len(ranked) > 1 and top.rank is not None:
        worst = top.rank[1]
        sentence += (" — the top priority, clearly ahead of every other objective."
                     if worst == 1 else
                     f" — ranked {rank_range(*top.rank)} of {total}: clearly in the top "
                     f"{worst}, but not clearly ahead of the others there.")
    else:
        sentence += "."
    details = [f"{name(r.objective)}: {percent(r.est.imp_high.p)} "
               f"({percent_interval(r.est.imp_high.lo, r.est.imp_high.hi)})"
               + (f", ranked {rank_range(*r.rank)}." if r.rank else ".")
               for r in ranked[1:TOP_N]]
    caveat = ""
    wide = [r.objective.code for r in ranked[:TOP_N] if _share_wide(r.est.imp_high)]
    if wide:
        caveat = (f"The interval of {', '.join(wide)} spans more than "
                  f"{percent(WIDE_SHARE)} points: too wide to rank on with confidence.")
    return Card("priorities", "Top priorities", sentence, href, "Ranking chart with intervals",
                details, caveat)


def shortfalls_card(dash: dashboard.Dashboard) -> Card:
    rows = labels.shortfalls(dash.rows)
    href = url_for("reports.charts", round=dash.round.id, _anchor="fig-gap-title")
    if not rows:
        return Card("shortfalls", "Largest shortfalls",
                    "No objective's performance is clearly below its importance: every gap "
                    "interval reaches zero or above.", href, "Gap chart")

    def line(r, lead: bool) -> str:
        e = r.est
        text = name(r.objective) + ": "
        if e.show_share("imp_high") and e.show_share("perf_high") \
                and e.imp_high.p is not None and e.perf_high.p is not None:
            text += (f"{percent(e.imp_high.p)} of members rate it important, but only "
                     f"{percent(e.perf_high.p)} say it is done well")
        else:
            text += "members rate performance below importance"
        text += f" ({_gap_text(e)})"
        return text + (" — the largest shortfall." if lead else ".")

    caveat = ""
    wide = [r.objective.code for r in rows[:TOP_N] if _gap_wide(r.est.gap)]
    if wide:
        caveat = (f"The gap interval of {', '.join(wide)} is wider than a whole scale point: "
                  "the order among them is rough.")
    return Card("shortfalls", "Largest shortfalls", line(rows[0], True), href,
                "Gap chart and table", [line(r, False) for r in rows[1:TOP_N]], caveat)


def changes_card(rnd: FeedbackRound, tr: trends.Trends | None,
                 before: FeedbackRound | None) -> Card:
    if before is None or tr is None:
        return Card("changes", "What changed", f"{rnd.name} is the first feedback round: "
                    "there is no earlier round to compare with.",
                    url_for("reports.trends", round=rnd.id), "Trends")
    href = url_for("reports.trends", round=rnd.id, compare=before.id)
    moved = [(obj, c) for obj, c in tr.rows
             if c.share_q is not None and c.share_q < trends.ALPHA
             and c.share.estimate is not None]
    moved.sort(key=lambda t: -abs(t[1].share.estimate))
    if not moved:
        return Card("changes", f"Since {before.name}",
                    f"No objective's share rating it important changed beyond chance since "
                    f"{before.name}.", href, "Trends")

    def line(obj, c) -> str:
        d = c.share
        way = "rose" if d.estimate > 0 else "fell"
        return (f"{name(obj)}: the share rating it important {way} "
                f"{points(abs(d.estimate)).lstrip('+')} "
                f"(from {percent(c.before.imp_high.p)} to {percent(c.after.imp_high.p)}; "
                f"change {points(d.lo)} to {points(d.hi)})")

    return Card("changes", f"Since {before.name}", line(*moved[0]) + ".", href,
                "Trends with intervals", [line(*m) + "." for m in moved[1:TOP_N]])


def disagree_sentence(d: disagree.Disagreement) -> str:
    size = points(abs(d.diff)).lstrip("+").replace(" pts", " points")
    return (f"{d.label} ({d.dimension.label.lower()}, n = {count(d.n)}) on {name(d.objective)}: "
            f"{percent(d.value)} rate it important, "
            f"{size} {'above' if d.diff > 0 else 'below'} all members "
            f"({pvalue(d.q, 'adjusted p')}{', exact test' if d.test == 'exact' else ''})")


def segments_card(rnd: FeedbackRound, found: list[disagree.Disagreement]) -> Card:
    href = url_for("reports.segments", round=rnd.id)
    if not found:
        return Card("segments", "Segments that disagree",
                    "No member group differs from all members on what is important by at "
                    "least 5 points beyond chance.", href, "Segment heatmaps")
    return Card("segments", "Segments that disagree", disagree_sentence(found[0]) + ".", href,
                "Segment heatmaps", [disagree_sentence(d) + "." for d in found[1:TOP_N]])


def surveys_card(highlights: list[SurveyHighlight]) -> Card:
    href = (url_for("survey_results.index") if _has_endpoint("survey_results.index")
            else url_for("reports.board"))
    shown = [h for h in highlights if h.reportable]
    if not highlights:
        return Card("surveys", "Survey highlights", "No survey is open or was closed in the "
                    "last six months.", href, "Survey results")
    if not shown:
        return Card("surveys", "Survey highlights", "Recent surveys have too few responses "
                    "to report figures.", href, "Survey results")

    def line(h: SurveyHighlight) -> str:
        text = f"{h.survey.label}: {count(h.responses)} responses"
        if h.rate is not None:
            text += f" from {count(h.eligible.count)} eligible members ({percent(h.rate / 100)})"
        first = next((lst for lst in h.lists if lst.items), None)
        if first is not None:
            item = first.items[0]
            text += (f"; {first.heading.lower()}: {item.label} "
                     f"({percent(item.pct / 100)} {first.base})")
        return text + "."

    return Card("surveys", "Survey highlights", line(shown[0]), href, "Survey results",
                [line(h) for h in shown[1:TOP_N]])


def _has_endpoint(endpoint: str) -> bool:
    from flask import current_app

    return endpoint in current_app.view_functions


def base_text() -> str:
    from portal.reports import eligible

    return eligible.base_description()


def build(rnd: FeedbackRound, reference: str = labels.MIDPOINT) -> Summary:
    dash = dashboard.build(rnd, reference=reference)
    part = participation.participation(rnd.id)[0]
    sentence, caveat = participation_sentence(part, rnd, base_text())
    cards = [Card("participation", "Participation", sentence,
                  url_for("reports.dashboard", round=rnd.id, _anchor="table-participation"),
                  "Participation by segment", caveat=caveat)]
    summary = Summary(rnd, dash, cards, participation=part)
    summary.surveys = board_highlights(now_utc())
    if dash.empty:
        cards.append(surveys_card(summary.surveys))
        return summary
    pri = priorities_card(dash)
    if pri is not None:
        cards.append(pri)
    cards.append(shortfalls_card(dash))
    rounds = queries.all_rounds()
    before = queries.previous_round(rnd, rounds)
    summary.trends = trends.build(rnd, before) if before is not None else None
    cards.append(changes_card(rnd, summary.trends, before))
    summary.disagreements = disagree.find(rnd)
    cards.append(segments_card(rnd, summary.disagreements))
    cards.append(surveys_card(summary.surveys))
    return summary


