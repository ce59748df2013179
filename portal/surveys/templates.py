"""Bundled survey templates (portal/data/survey-*.json), loaded once each."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Survey
from portal.survey_admin.services import create_from_definition
from portal.surveys import definition

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TEMPLATES = {"pd-needs": "survey-pd-needs.json"}


def template_text(name: str) -> str:
    return (DATA_DIR / TEMPLATES[name]).read_text(encoding="utf-8")


def loaded_template(name: str) -> Survey | None:
    return db.session.scalar(sa.select(Survey).where(Survey.template_key == name))


def load_template(name: str) -> tuple[Survey, bool]:
    """(the template's survey, whether it was created now). Idempotent: a template
    already loaded is returned as it is. Flushes; raises DefinitionError for a bad file."""
    existing = loaded_template(name)
    if existing is not None:
        return existing, False
    data = definition.parse(template_text(name))
    survey = create_from_definition(data, None, template_key=name,
                                    audit_action="survey.template_loaded")
    return survey, True
