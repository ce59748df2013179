"""Rendering the objective and domain pages with their feedback parts.

The plan blueprint's views and the feedback blueprint's failed submissions both
render through these helpers, so a form error shows on the page it came from.
"""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from portal.actions.queries import published_for
from portal.feedback import queries, visits
from portal.feedback.forms import CommentForm, RatingForm, domain_rating_form
from portal.models import ACTION_STATUS_LABELS, UPDATE_STATUS_LABELS, Domain, Objective
from portal.models.feedback import IMPORTANCE_LABELS, PERFORMANCE_LABELS
from portal.plan import queries as plan_queries

LABELS = {"importance": IMPORTANCE_LABELS, "performance": PERFORMANCE_LABELS,
          "status": {k.value: v for k, v in UPDATE_STATUS_LABELS.items()}}
ACTION_LABELS = {k.value: v for k, v in ACTION_STATUS_LABELS.items()}


def signed_in_user():
    return current_user._get_current_object() if current_user.is_authenticated else None


def objective_page(objective: Objective, *, rating_form: RatingForm | None = None,
                   comment_form: CommentForm | None = None, status: int = 200,
                   record: bool = False):
    """The objective page: rating, progress, leadership updates and comments.

    A fixed number of queries whatever the number of comments. With `record`,
    the visit is remembered in the session (for "updated since your last visit").
    """
    user = signed_in_user()
    ordered = plan_queries.ordered_objectives()
    prev_obj, next_obj = plan_queries.neighbours(objective, ordered)
    rstatus = queries.rating_status(user, ordered, objective)
    my_rating = rstatus.ratings.get(objective.id)
    last = None
    if user is not None and rstatus.round is None:
        last = queries.last_rating(user, objective)
    # Forms only for someone signed in: building one puts a CSRF token in the session,
    # and an anonymous reader should get neither a cookie nor a page nobody can share.
    if rating_form is None and user is not None:
        rating_form = RatingForm(formdata=None, data={
            "importance": my_rating.importance if my_rating else None,
            "performance": my_rating.performance if my_rating else None})
    if comment_form is None and user is not None:
        comment_form = CommentForm(formdata=None)
    comments = queries.comment_page(objective, user, request.args.get("page", 1, type=int),
                                    request.args.get("sort", "endorsed"))
    updates = queries.updates_for(objective)
    actions = published_for(objective)
    previous_visit = visits.last_seen(user, objective.id) if user is not None else None
    if user is not None and record:
        visits.mark_seen(objective.id)
    return render_template(
        "plan/objective.html", objective=objective, prev_obj=prev_obj, next_obj=next_obj,
        rstatus=rstatus, my_rating=my_rating, last_rating=last, rating_form=rating_form,
        comment_form=comment_form, comments=comments, sorts=queries.SORTS, updates=updates,
        actions=actions, action_labels=ACTION_LABELS,
        updated_since_visit=queries.is_newer(updates, previous_visit), labels=LABELS,
        user=user), status


def domain_page(domain: Domain, *, form=None, status: int = 200):
    """The domain page with the one-form rating of all its objectives."""
    user = signed_in_user()
    objectives = domain.active_objectives
    ordered = plan_queries.ordered_objectives()
    rstatus = queries.rating_status(user, ordered)
    if form is None and user is not None:  # no form, no session cookie for anonymous readers
        form = domain_rating_form(objectives, rstatus.ratings)
    updated = queries.updated_since_last_visit(user, [o.id for o in objectives])
    # Where the member stands after saving: this domain, and the next one left to rate.
    domains = queries.domain_ratings(ordered, rstatus.rated_ids)
    this_domain = next((d for d in domains if d.code == domain.code), None)
    next_domain = queries.next_unrated_domain(domains, domain.code)
    return render_template("plan/domain.html", domain=domain, rstatus=rstatus, form=form,
                           rating_objectives=objectives, updated_ids=updated, labels=LABELS,
                           this_domain=this_domain, next_domain=next_domain,
                           user=user), status
