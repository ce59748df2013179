"""Every model, re-exported so that `from portal.models import X` works for all."""

from portal.models.accounts import (
    AccountToken,
    Invitation,
    RosterEntry,
    SiteSetting,
    TokenPurpose,
)
from portal.models.audit import AuditEvent
from portal.models.comments import (
    UPDATE_STATUS_LABELS,
    Comment,
    CommentFlag,
    CommentStatus,
    CommentVersion,
    Endorsement,
    FlagReason,
    ObjectiveUpdate,
    UpdateStatus,
)
from portal.models.feedback import FeedbackRound, Rating, RoundStatus
from portal.models.plan import Domain, Objective, Plan, PlanValue
from portal.models.report_snapshots import (
    ReportSnapshot,
    ReportSnapshotCell,
    ReportSnapshotChange,
    ReportSnapshotCrossCell,
    ReportSnapshotParticipation,
    ReportSnapshotRound,
)
from portal.models.reports import (
    ReportCell,
    ReportCrossCell,
    ReportEligible,
    ReportParticipation,
    ReportRater,
)
from portal.models.signin import SigninAccountFailures, SigninThrottle
from portal.models.sso import (
    ExternalIdentity,
    IdentityProvider,
    Protocol,
    SamlAssertion,
    SsoPendingLink,
    VerifiedSegment,
)
from portal.models.survey import (
    QuestionType,
    Survey,
    SurveyOption,
    SurveyQuestion,
    SurveySection,
    SurveyStatus,
)
from portal.models.survey_counts import SurveyAnswerCount, SurveyQuestionCount
from portal.models.survey_response import (
    SurveyAnswer,
    SurveyAttribution,
    SurveyDraft,
    SurveyParticipation,
    SurveyPoolEntry,
    SurveyResponse,
    SurveySnapshot,
)
from portal.models.user import Role, User

__all__ = [
    "AccountToken",
    "Invitation",
    "RosterEntry",
    "SiteSetting",
    "TokenPurpose",
    "UPDATE_STATUS_LABELS",
    "AuditEvent",
    "Comment",
    "CommentFlag",
    "CommentStatus",
    "CommentVersion",
    "Endorsement",
    "FlagReason",
    "ObjectiveUpdate",
    "UpdateStatus",
    "Domain",
    "FeedbackRound",
    "Objective",
    "Plan",
    "PlanValue",
    "Rating",
    "ReportCell",
    "ReportCrossCell",
    "ReportEligible",
    "ReportParticipation",
    "ReportRater",
    "ReportSnapshot",
    "ReportSnapshotCell",
    "ReportSnapshotChange",
    "ReportSnapshotCrossCell",
    "ReportSnapshotParticipation",
    "ReportSnapshotRound",
    "Role",
    "SigninAccountFailures",
    "SigninThrottle",
    "ExternalIdentity",
    "IdentityProvider",
    "Protocol",
    "SamlAssertion",
    "SsoPendingLink",
    "VerifiedSegment",
    "RoundStatus",
    "User",
    "QuestionType",
    "Survey",
    "SurveyAnswer",
    "SurveyAnswerCount",
    "SurveyAttribution",
    "SurveyDraft",
    "SurveyOption",
    "SurveyParticipation",
    "SurveyPoolEntry",
    "SurveyQuestion",
    "SurveyQuestionCount",
    "SurveyResponse",
    "SurveySnapshot",
    "SurveySection",
    "SurveyStatus",
]
