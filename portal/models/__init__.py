"""Every model, re-exported so that `from portal.models import X` works for all."""

from portal.models.audit import AuditEvent
from portal.models.plan import Domain, Objective, Plan, PlanValue
from portal.models.user import Role, User

__all__ = ["AuditEvent", "Domain", "Objective", "Plan", "PlanValue", "Role", "User"]
