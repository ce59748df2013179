"""Texts for demo comments and leadership updates: varied tone, about each objective."""

from __future__ import annotations

# Short topic phrases per objective code of the bundled plan; other plans fall
# back to "this objective".
TOPICS = {
    "A1": ("the advocacy strategy", "advocacy for intellectual freedom"),
    "A2": ("partnerships with other organizations", "international partnerships"),
    "A3": ("rapid response to crises", "the crisis response plan"),
    "A4": ("advocacy toolkits", "legislative updates for advocates"),
    "A5": ("the public awareness campaign", "the campaign on access to information"),
    "B1": ("the membership model", "membership dues and flexibility"),
    "B2": ("the website and member platforms", "the digital platforms"),
    "B3": ("the conference experience", "the annual conference"),
    "B4": ("communication with members", "member newsletters and outreach"),
    "C1": ("the ALA Forward changes", "program alignment"),
    "C2": ("governance reform", "decision-making in governance"),
    "C3": ("the Our ALA model", "Our ALA"),
    "C4": ("board and staff onboarding", "leadership development for the board"),
    "D1": ("ending deficit spending", "the budget"),
    "D2": ("the review of programs", "streamlining programs"),
    "D3": ("centralizing operations", "shared services"),
    "D4": ("sunsetting outdated offerings", "retiring low-performing programs"),
    "D5": ("the reserve fund", "building financial reserves"),
    "E1": ("educational resources", "webinars and learning resources"),
    "E2": ("professional development for library workers", "training opportunities"),
    "E3": ("research on educational needs", "the learning needs survey"),
    "E4": ("accreditation", "the accreditation process"),
}

POSITIVE = (
    "I really appreciate the progress on {t}. Thank you!",
    "Great work on {t}; it has made a real difference in my library.",
    "{T} is excellent and clearly improving. Keep it up.",
    "Very happy with {t}. The recent changes are helpful and well explained.",
    "{T} is one of the best things the association does right now.",
    "Thanks to everyone working on {t}, it is impressive and useful.",
)
NEGATIVE = (
    "{T} is disappointing. Nothing seems to change and members are frustrated.",
    "I am worried about {t}; it feels slow, confusing and poorly communicated.",
    "Honestly {t} has been a failure so far. We need real action, not more plans.",
    "{T} is too expensive and hard to use for small libraries like mine.",
    "The association keeps promising progress on {t} but I see no results.",
    "Poor follow-through on {t}. It is frustrating to keep asking.",
)
NEUTRAL = (
    "Could you publish a timeline for {t}?",
    "Please share more detail about {t} and how members can take part.",
    "Will {t} include rural and school libraries?",
    "Suggest a member working group on {t}.",
    "How is {t} measured? A yearly report would help.",
    "Consider regional sessions about {t}.",
)
REPLIES_AGREE = (
    "Agreed, this matches my experience.",
    "Same here. Thank you for saying it.",
    "Yes, and a clear timeline would help everyone.",
)
REPLIES_DISAGREE = (
    "I see it differently; in my region it has worked well.",
    "Not my experience, but I understand the concern.",
)
UPDATE_HEARD = (
    "Members told us that **{t}** matters a great deal and that progress has felt slow.",
    "Many comments asked for clearer communication about **{t}**.",
    "Members value **{t}** and asked us to reach smaller and rural libraries.",
)
UPDATE_DOING = (
    "We have formed a working group and will report back at the next board meeting.\n\n"
    "- publish a timeline\n- hold two member listening sessions",
    "We are reallocating budget to {t} and will publish quarterly progress notes.",
    "A pilot with three chapters starts this spring; results will be shared with members.",
)


def topic(code: str, variant: int = 0) -> str:
    options = TOPICS.get(code, ("this objective", "this objective"))
    return options[variant % len(options)]


def fill(template: str, code: str, variant: int = 0) -> str:
    t = topic(code, variant)
    return template.format(t=t, T=t[:1].upper() + t[1:])
