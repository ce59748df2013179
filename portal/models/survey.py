"""Survey definitions: a survey, its sections (pages), questions and options.

The answers live in `survey_response.py`; this module only describes what is asked.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import segments
from portal.errors import Conflict, InvalidTransition
from portal.extensions import db
from portal.models.base import TimestampMixin
from portal.models.plan import Objective
from portal.timeutil import now_utc


class SurveyStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


STATUS_LABELS = {"draft": "Draft", "open": "Open", "closed": "Closed"}


class QuestionType(enum.StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    LIKERT = "likert"
    LIKERT_MATRIX = "likert_matrix"
    RATING_0_10 = "rating_0_10"
    RANKING = "ranking"
    NUMBER = "number"
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    DATE = "date"


QUESTION_TYPE_LABELS = {
    "single_choice": "Single choice",
    "multiple_choice": "Multiple choice",
    "likert": "Likert scale",
    "likert_matrix": "Likert matrix (several statements on one scale)",
    "rating_0_10": "0–10 rating (net promoter score)",
    "ranking": "Ranking (order the top N)",
    "number": "Number",
    "short_text": "Short text",
    "long_text": "Long text",
    "date": "Date",
}

# Types whose options are answers a later question or section can depend on.
CHOICE_TYPES = frozenset({"single_choice", "multiple_choice"})
# Types that carry a list of options (for the matrix: its statements).
OPTION_TYPES = frozenset({"single_choice", "multiple_choice", "ranking", "likert_matrix"})
SCALE_TYPES = frozenset({"likert", "likert_matrix"})
TEXT_TYPES = frozenset({"short_text", "long_text"})
NUMERIC_TYPES = frozenset({"likert", "likert_matrix", "rating_0_10", "number"})

# At most two: more would make the stored combinations too rare to keep.
DEFAULT_BREAKDOWN = ("career_stage", "library_type")
MAX_BREAKDOWN = 2

_TYPE_CHECK = "type in ({})".format(", ".join(f"'{t.value}'" for t in QuestionType))


class Survey(TimestampMixin, db.Model):
    """A survey. Lifecycle draft -> open -> closed; anonymous or attributed.

    Whether answers are anonymous is fixed once the survey opens. Once it has
    responses, only wording may change; structure changes need a new version
    (`previous_version_id` links the versions).
    """

    __tablename__ = "surveys"
    __table_args__ = (
        sa.CheckConstraint("status in ('draft', 'open', 'closed')", name="status_known"),
        sa.CheckConstraint("closes_at is null or opens_at is null or closes_at > opens_at",
                           name="closes_after_opening"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    introduction: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16), default=SurveyStatus.DRAFT.value,
                                        index=True)
    anonymous: Mapped[bool] = mapped_column(default=True)
    # {} means every member; otherwise {dimension: [codes]}: a member must match
    # one code in every listed dimension.
    audience: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    objective_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("objectives.id", ondelete="SET NULL"))
    template_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    previous_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("surveys.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    # Question codes (q1, q2 ...) are never reused within a survey, so export
    # columns stay stable while the survey is edited.
    next_question_number: Mapped[int] = mapped_column(default=1)
    # The segment dimensions results can be broken down by; responses store these
    # (and, for an anonymous survey, only these, generalised where rare).
    breakdown_dimensions: Mapped[list[str]] = mapped_column(
        sa.JSON, default=lambda: list(DEFAULT_BREAKDOWN))
    # Moves at each release of the mixing pool: each batch is sealed under its own key.
    pool_epoch: Mapped[int] = mapped_column(default=0)

    objective: Mapped[Objective | None] = relationship()
    sections: Mapped[list[SurveySection]] = relationship(
        back_populates="survey", order_by="SurveySection.position",
        cascade="all, delete-orphan")

    # State ----------------------------------------------------------------
    @property
    def is_draft(self) -> bool:
        return self.status == SurveyStatus.DRAFT

    @property
    def is_open(self) -> bool:
        return self.status == SurveyStatus.OPEN

    @property
    def is_closed(self) -> bool:
        return self.status == SurveyStatus.CLOSED

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def accepts_answers(self, now: datetime | None = None) -> bool:
        """Open, and not past its closing time even if no request has closed it yet."""
        now = now or now_utc()
        return self.is_open and (self.closes_at is None or self.closes_at > now)

    def open(self, now: datetime | None = None) -> None:
        if self.status != SurveyStatus.DRAFT:
            raise InvalidTransition(f"The survey is {self.status}; only a draft can be opened.")
        if not any(s.questions for s in self.sections):
            raise InvalidTransition("A survey needs at least one question before it opens.")
        now = now or now_utc()
        if self.closes_at is not None and self.closes_at <= now:
            raise InvalidTransition("The closing time has already passed; change it first.",
                                    )
        self.status = SurveyStatus.OPEN.value
        self.opened_at = now

    def close(self, now: datetime | None = None) -> None:
        if self.status != SurveyStatus.OPEN:
            raise InvalidTransition(f"The survey is {self.status}; only an open survey can "
                                    "be closed.")
        self.status = SurveyStatus.CLOSED.value
        self.closed_at = now or now_utc()

    def set_anonymous(self, anonymous: bool) -> None:
        if anonymous != self.anonymous and not self.is_draft:
            raise Conflict("Whether answers are anonymous is fixed once the survey has opened.",
                           field="anonymous")
        self.anonymous = anonymous

    @property
    def breakdown_keys(self) -> tuple[str, ...]:
        """The breakdown dimensions, in the order of portal.segments (unknown names dropped)."""
        chosen = set(self.breakdown_dimensions or ())
        return tuple(k for k in segments.KEYS if k in chosen)

    def set_breakdown(self, keys: list[str]) -> None:
        if list(keys) != list(self.breakdown_keys) and not self.is_draft:
            raise Conflict("The breakdown dimensions are fixed once the survey has opened.",
                           field="breakdown_dimensions")
        unknown = [k for k in keys if k not in segments.KEYS]
        if unknown or len(set(keys)) > MAX_BREAKDOWN:
            raise Conflict(f"Choose at most {MAX_BREAKDOWN} known segment dimensions.",
                           field="breakdown_dimensions")
        self.breakdown_dimensions = [k for k in segments.KEYS if k in set(keys)]

    def ordered_questions(self) -> list[SurveyQuestion]:
        return [q for s in self.sections for q in s.questions]

    def question_by_code(self, code: str) -> SurveyQuestion | None:
        return next((q for q in self.ordered_questions() if q.code == code), None)

    @property
    def label(self) -> str:
        return self.title if self.version == 1 else f"{self.title} (version {self.version})"


class SurveySection(db.Model):
    """A page of a survey; shown only when its `show_if` condition holds."""

    __tablename__ = "survey_sections"
    __table_args__ = (sa.Index("ix_survey_sections_survey_position", "survey_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("surveys.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # {"question": "q3", "any_of": ["1", "2"]}: shown when q3 was answered with one of them.
    show_if: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    survey: Mapped[Survey] = relationship(back_populates="sections")
    questions: Mapped[list[SurveyQuestion]] = relationship(
        back_populates="section", order_by="SurveyQuestion.position",
        cascade="all, delete-orphan")


class SurveyQuestion(db.Model):
    __tablename__ = "survey_questions"
    __table_args__ = (
        sa.UniqueConstraint("survey_id", "code"),
        sa.CheckConstraint(_TYPE_CHECK, name="type_known"),
        sa.Index("ix_survey_questions_section_position", "section_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("surveys.id", ondelete="CASCADE"))
    section_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_sections.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str] = mapped_column(sa.String(16))
    type: Mapped[str] = mapped_column(sa.String(24))
    prompt: Mapped[str] = mapped_column(sa.Text)
    help_text: Mapped[str] = mapped_column(sa.Text, default="")
    required: Mapped[bool] = mapped_column(default=False)
    # Type-specific validation (see portal/surveys/definition.py SETTINGS).
    settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    show_if: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    next_option_number: Mapped[int] = mapped_column(default=1)

    survey: Mapped[Survey] = relationship()
    section: Mapped[SurveySection] = relationship(back_populates="questions")
    options: Mapped[list[SurveyOption]] = relationship(
        back_populates="question", order_by="SurveyOption.position",
        cascade="all, delete-orphan")

    @property
    def type_label(self) -> str:
        return QUESTION_TYPE_LABELS.get(self.type, self.type)

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES

    @property
    def has_options(self) -> bool:
        return self.type in OPTION_TYPES

    def setting(self, key: str, default: Any = None) -> Any:
        return (self.settings or {}).get(key, default)

    def option_by_code(self, code: str) -> SurveyOption | None:
        return next((o for o in self.options if o.code == code), None)

    @property
    def scale(self) -> list[tuple[int, str]]:
        """(value, label) of a Likert scale, 1-based."""
        labels = self.setting("labels") or []
        return list(enumerate(labels, start=1))


class SurveyOption(db.Model):
    """An answer option, or a statement of a Likert matrix. `code` is stable."""

    __tablename__ = "survey_options"
    __table_args__ = (
        sa.UniqueConstraint("question_id", "code"),
        sa.Index("ix_survey_options_question_position", "question_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_questions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str] = mapped_column(sa.String(16))
    label: Mapped[str] = mapped_column(sa.String(500))
    # "Other, please specify": the answer also carries a text.
    is_other: Mapped[bool] = mapped_column(default=False)

    question: Mapped[SurveyQuestion] = relationship(back_populates="options")
