"""Simulated members and the ledger that proves what the portal stored.

Each member is a thread with its own cookies. It signs in, then for objectives it
has not rated yet: opens the objective page, rates it, follows the redirect (as a
browser would, which also shows the flash), and comments with a text nobody else
sends. A request answered 503, or lost to a connection error or time-out, is sent
again with the same form, at most RETRIES times with growing pauses, as a person
pressing the button again would. Every loop is bounded in count and in time.

The ledger keeps what each member saw: accepted (the 302 the portal answers a
saved form with), refused with 503 every time, or unknown (the last attempt got no
answer at all). `reconcile` then reads the database and checks that every accepted
answer is stored exactly once with the accepted values, that nothing else is
stored, and that no 5xx other than a 503 with the maintenance page was served.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa

from bench.harness import CSRF_RE, Client

RETRIES = 8
TIMEOUT = 20.0
UNAVAILABLE_TEXT = "Temporarily unavailable"


class GaveUp(Exception):
    """Every attempt of one request failed (503 or no answer)."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome  # "503" or "no answer"


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    no_answer: int = 0
    five_xx: list = field(default_factory=list)  # (monotonic time, status, path)
    bad_503_pages: int = 0
    unexpected: list = field(default_factory=list)  # (status, path, text) of 4xx
    # what the members saw
    ratings: dict = field(default_factory=dict)  # (email, code) -> (importance, performance)
    comments: set = field(default_factory=set)  # accepted bodies
    unknown_ratings: dict = field(default_factory=dict)
    unknown_comments: set = field(default_factory=set)
    refused_ratings: set = field(default_factory=set)
    refused_comments: set = field(default_factory=set)
    surveys: dict = field(default_factory=dict)  # email -> (choice, wish)
    unknown_surveys: dict = field(default_factory=dict)
    refused_surveys: set = field(default_factory=set)
    survey_503_then_stored: int = 0
    accepted_at: list = field(default_factory=list)  # monotonic times of accepted writes
    members_signed_in: int = 0
    members_gave_up: int = 0

    def note(self, status: int | None, path: str, text: str = "",
             expected: bool = False) -> None:
        """Count one answer; `expected` marks a 4xx that is the normal answer here."""
        now = time.monotonic()
        with self.lock:
            self.requests += 1
            if status is None:
                self.no_answer += 1
                return
            self.statuses[status] += 1
            if status >= 500:
                self.five_xx.append((now, status, path))
                if status == 503 and UNAVAILABLE_TEXT not in text:
                    self.bad_503_pages += 1
            elif status >= 400 and not expected:
                self.unexpected.append((status, path, _title(text)))

    @property
    def accepted(self) -> int:
        return len(self.ratings) + len(self.comments) + len(self.surveys)


def _title(html: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    return (match.group(1).strip() if match else html[:120])[:200]


class Member:
    def __init__(self, base_url: str, email: str, password: str, ledger: Ledger,
                 run_tag: str, rng: random.Random, stop_at: float) -> None:
        self.client = Client(base_url, timeout=TIMEOUT)
        self.email, self.password = email, password
        self.ledger, self.tag, self.rng, self.stop_at = ledger, run_tag, rng, stop_at
        self.token: str | None = None

    # one request with bounded retries ---------------------------------------------
    def send(self, method: str, path: str, form: dict | None = None
             ) -> tuple[int, dict, str]:
        # "503" only when every attempt was answered 503: then nothing was stored.
        outcome = "503"
        for attempt in range(RETRIES):
            try:
                status, headers, text = self.client.request(method, path, form)
            except (OSError, http.client.HTTPException):
                self.ledger.note(None, path)
                outcome = "no answer"
            else:
                self.ledger.note(status, path, text)
                if status != 503:
                    return status, headers, text
            if attempt + 1 < RETRIES:
                time.sleep(min(0.25 * 2 ** attempt, 3.0) * self.rng.uniform(0.7, 1.3))
        raise GaveUp(outcome)

    def page(self, path: str) -> str:
        status, _, text = self.send("GET", path)
        match = CSRF_RE.search(text)
        if match:
            self.token = match.group(1)
        return text

    def sign_in(self) -> bool:
        self.page("/auth/login")
        form = {"email": self.email, "password": self.password, "csrf_token": self.token}
        status, _, _ = self.send("POST", "/auth/login", form)
        return status == 302

    # member actions ---------------------------------------------------------------
    def rate(self, code: str) -> None:
        importance, performance = self.rng.randint(0, 5), self.rng.randint(0, 5)
        key = (self.email, code)
        form = {"importance": importance, "performance": performance, "csrf_token": self.token}
        try:
            status, headers, _ = self.send("POST", f"/feedback/objectives/{code}/rating", form)
        except GaveUp as exc:
            with self.ledger.lock:
                if exc.outcome == "503":
                    self.ledger.refused_ratings.add(key)
                else:
                    self.ledger.unknown_ratings[key] = (importance, performance)
            return
        if status == 302:
            with self.ledger.lock:
                self.ledger.ratings[key] = (importance, performance)
                self.ledger.accepted_at.append(time.monotonic())
            self.follow(headers)

    def comment(self, code: str) -> None:
        body = f"Load {self.tag} {self.email} {code} {uuid.uuid4().hex}: more events, please."
        form = {"body": body, "csrf_token": self.token}
        try:
            status, headers, _ = self.send("POST", f"/feedback/objectives/{code}/comments", form)
        except GaveUp as exc:
            with self.ledger.lock:
                (self.ledger.refused_comments if exc.outcome == "503"
                 else self.ledger.unknown_comments).add(body)
            return
        if status == 302:
            with self.ledger.lock:
                self.ledger.comments.add(body)
                self.ledger.accepted_at.append(time.monotonic())
            self.follow(headers)

    def take_survey(self, survey_id: int) -> None:
        """Open the survey, start, answer its one page and submit; then back to the list
        (which also finishes a submission the portal had to leave half-stored)."""
        choice = self.rng.choice(["web", "course", "mentor"])
        wish = f"Wish {self.tag} {uuid.uuid4().hex}"
        self.page(f"/surveys/{survey_id}")
        status, _, _ = self.send("POST", f"/surveys/{survey_id}/start",
                                 {"csrf_token": self.token})
        if status != 302:
            return
        form = {"q-q1": choice, "q-q2": wish, "action": "next", "csrf_token": self.token}
        status, _, _ = self.send("POST", f"/surveys/{survey_id}/sections/1", form)
        if status != 302:
            return
        seen: list[int | None] = []
        try:
            for attempt in range(RETRIES):
                try:
                    status, _, text = self.client.request(
                        "POST", f"/surveys/{survey_id}/submit", {"csrf_token": self.token})
                except (OSError, http.client.HTTPException):
                    self.ledger.note(None, "/surveys/<id>/submit")
                    seen.append(None)
                else:
                    # "Already submitted" after an attempt that got no answer: the
                    # earlier attempt went through, which is what the member learns.
                    confirmed = status == 409 and "already submitted" in text and attempt > 0
                    self.ledger.note(status, "/surveys/<id>/submit", text, expected=confirmed)
                    seen.append(status)
                    if status == 200 or confirmed:
                        with self.ledger.lock:
                            self.ledger.surveys[self.email] = (choice, wish)
                            self.ledger.accepted_at.append(time.monotonic())
                            if status == 409 and None not in seen:
                                self.ledger.survey_503_then_stored += 1
                        return
                    if status != 503:
                        return
                time.sleep(min(0.25 * 2 ** attempt, 3.0) * self.rng.uniform(0.7, 1.3))
            with self.ledger.lock:
                if None in seen:
                    self.ledger.unknown_surveys[self.email] = (choice, wish)
                else:
                    self.ledger.refused_surveys.add(self.email)
        finally:
            with contextlib.suppress(GaveUp):
                self.page("/surveys/")

    def follow(self, headers: dict) -> None:
        location = headers.get("location", "")
        if location.startswith("/"):
            with contextlib.suppress(GaveUp):
                self.page(location.split("#")[0])

    def run(self, objectives: list[str], max_actions: int, survey_id: int | None = None
            ) -> None:
        try:
            while not self.sign_in():
                if time.monotonic() > self.stop_at:
                    return
            with self.ledger.lock:
                self.ledger.members_signed_in += 1
            todo = self.rng.sample(objectives, min(max_actions, len(objectives)))
            for n, code in enumerate(todo):
                if time.monotonic() > self.stop_at:
                    break
                if n == 1 and survey_id is not None:
                    self.take_survey(survey_id)
                self.page(f"/plan/objectives/{code}")
                self.rate(code)
                self.comment(code)
                time.sleep(self.rng.uniform(0, 0.1))  # a short pause, as people take
        except GaveUp:
            with self.ledger.lock:
                self.ledger.members_gave_up += 1


def drive(base_url: str, emails: list[str], password: str, objectives: list[str],
          seconds: float, max_actions: int, tag: str, seed: int = 1,
          survey_id: int | None = None) -> Ledger:
    """Run one thread per member for at most `seconds` (plus the retries in flight)."""
    ledger = Ledger()
    stop_at = time.monotonic() + seconds
    members = [Member(base_url, email, password, ledger, tag, random.Random(seed * 7919 + i),
                      stop_at) for i, email in enumerate(emails)]
    threads = [threading.Thread(target=m.run, args=(objectives, max_actions, survey_id),
                                daemon=True)
               for m in members]
    for t in threads:
        t.start()
        time.sleep(0.01)
    hard_limit = time.monotonic() + seconds + RETRIES * 3 + TIMEOUT * 2
    for t in threads:
        t.join(max(0.1, hard_limit - time.monotonic()))
    stuck = sum(t.is_alive() for t in threads)
    if stuck:
        raise AssertionError(f"{stuck} simulated members did not finish in time")
    return ledger


# Reconciliation -----------------------------------------------------------------------

@dataclass
class Figures:
    scenario: str
    requests: int
    accepted: int
    stored: int
    duplicates: int
    five_xx: int
    five_xx_503: int
    recovery: str
    notes: str = ""
    problems: list = field(default_factory=list)

    def row(self) -> str:
        return (f"| {self.scenario} | {self.requests} | {self.accepted} | {self.stored} | "
                f"{self.duplicates} | {self.five_xx} ({self.five_xx_503} × 503) | "
                f"{self.recovery} |")


def reconcile(database_url: str, ledger: Ledger, round_id: int, tag: str, scenario: str,
              windows: list[tuple[float, float]] = (), recovery: str = "n/a",
              survey_id: int | None = None) -> Figures:
    """Compare the ledger with the database. `windows` are (start, end) monotonic times
    of injected outages: a 503 is allowed inside one (plus the retries' reach)."""
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            ratings = conn.execute(sa.text(
                "SELECT u.email, o.code, r.importance, r.performance FROM ratings r "
                "JOIN users u ON u.id = r.user_id JOIN objectives o ON o.id = r.objective_id "
                "WHERE r.round_id = :rid"), {"rid": round_id}).all()
            all_ratings = conn.execute(sa.text("SELECT count(*) FROM ratings")).scalar()
            comments = conn.execute(sa.text(
                "SELECT body, count(*) FROM comments GROUP BY body")).all()
            participants = conn.execute(sa.text(
                "SELECT u.email FROM survey_participations p JOIN users u ON u.id = p.user_id"
            )).scalars().all()
            responses = conn.execute(sa.text("SELECT count(*) FROM survey_responses")).scalar()
            wishes = conn.execute(sa.text(
                "SELECT a.text_value, count(*) FROM survey_answers a "
                "JOIN survey_questions q ON q.id = a.question_id WHERE q.code = 'q2' "
                "GROUP BY a.text_value")).all()
            # Anonymous answers still waiting (sealed) for a batch of PRIVACY_MIN_N.
            waiting = conn.execute(sa.text("SELECT count(*) FROM survey_pool")).scalar()
    finally:
        engine.dispose()
    problems: list[str] = []
    stored_ratings = {(e, c): (i, p) for e, c, i, p in ratings}
    if all_ratings != len(ratings):
        problems.append(f"{all_ratings - len(ratings)} ratings outside the load round")
    for key, value in ledger.ratings.items():
        if key not in stored_ratings:
            problems.append(f"accepted rating lost: {key}")
        elif stored_ratings[key] != value:
            problems.append(f"rating {key} stored {stored_ratings[key]}, accepted {value}")
    for key, value in stored_ratings.items():
        if key in ledger.ratings:
            continue
        if key in ledger.unknown_ratings and ledger.unknown_ratings[key] == value:
            continue  # the member never got an answer: either outcome is honest
        problems.append(f"rating stored that no member saw accepted: {key}")
    for key in ledger.refused_ratings:
        if key in stored_ratings and key not in ledger.ratings:
            problems.append(f"rating answered 503 but stored: {key}")

    stored_comments = dict(comments)
    duplicates = sum(n - 1 for n in stored_comments.values() if n > 1)
    if duplicates:
        problems.append(f"{duplicates} duplicate comments")
    for body in ledger.comments:
        if body not in stored_comments:
            problems.append(f"accepted comment lost: {body[:60]}")
    for body in stored_comments:
        if body in ledger.comments or body in ledger.unknown_comments:
            continue
        problems.append(f"comment stored that no member saw accepted: {body[:60]}")
    for body in ledger.refused_comments:
        if body in stored_comments:
            problems.append(f"comment answered 503 but stored: {body[:60]}")

    # Surveys: participation rows name members, responses do not; the unique wish in
    # each response says which accepted answer it is without naming anyone.
    stored_wishes = dict(wishes)
    survey_dups = sum(n - 1 for n in stored_wishes.values() if n > 1) + (
        len(participants) - len(set(participants)))
    duplicates += survey_dups
    if survey_dups:
        problems.append(f"{survey_dups} duplicate survey responses or participations")
    if responses + waiting != len(participants):
        problems.append(f"{responses} survey responses and {waiting} waiting for "
                        f"{len(participants)} participations")
    if waiting >= 10:
        problems.append(f"{waiting} answers still wait after `flask surveys release`")
    accepted_wishes = {w for _, w in ledger.surveys.values()}
    unknown_wishes = {w for _, w in ledger.unknown_surveys.values()}
    for email in ledger.surveys:
        if email not in participants:
            problems.append(f"accepted survey without participation: {email}")
    for email in set(participants) - set(ledger.surveys) - set(ledger.unknown_surveys):
        problems.append(f"participation no member saw accepted: {email}")
    # The waiting answers are sealed: at most that many accepted ones are not visible.
    missing = accepted_wishes - set(stored_wishes)
    if len(missing) > waiting:
        problems.extend(f"accepted survey answer lost: {wish}" for wish in sorted(missing))
    for wish in set(stored_wishes) - accepted_wishes - unknown_wishes:
        problems.append(f"survey answer stored that no member saw accepted: {wish}")
    for email in ledger.refused_surveys:
        if email in participants:
            problems.append(f"survey answered 503 but stored: {email}")
    if ledger.survey_503_then_stored:
        problems.append(f"{ledger.survey_503_then_stored} survey submissions answered 503 "
                        "although the portal had recorded them")

    stored_accepted = sum(1 for k in ledger.ratings if k in stored_ratings) + sum(
        1 for b in ledger.comments if b in stored_comments) + sum(
        1 for w in accepted_wishes if w in stored_wishes)
    stored_total = len(stored_ratings) + sum(stored_comments.values()) + responses
    five_503 = sum(1 for _, s, _ in ledger.five_xx if s == 503)
    for t, status, path in ledger.five_xx:
        if status != 503:
            problems.append(f"{status} on {path}")
        elif not any(start - 1 <= t <= end + 35 for start, end in windows):
            problems.append(f"503 on {path} outside any injected outage")
    if ledger.bad_503_pages:
        problems.append(f"{ledger.bad_503_pages} 503 answers without the maintenance page")
    for status, path, title in ledger.unexpected[:10]:
        problems.append(f"unexpected {status} on {path}: {title}")
    unknown = len(ledger.unknown_ratings) + len(ledger.unknown_comments) + len(
        ledger.unknown_surveys)
    refused = len(ledger.refused_ratings) + len(ledger.refused_comments) + len(
        ledger.refused_surveys)
    notes = (f"{ledger.members_signed_in} members signed in; answers {dict(ledger.statuses)}; "
             f"{len(ledger.ratings)} ratings, {len(ledger.comments)} comments, "
             f"{len(ledger.surveys)} survey responses accepted; "
             f"{stored_accepted} of {ledger.accepted} accepted answers found; "
             f"{stored_total} rows stored; {refused} gave up after 503s; "
             f"{unknown} without any answer; {ledger.no_answer} connection errors")
    return Figures(scenario, ledger.requests, ledger.accepted, stored_total, duplicates,
                   len(ledger.five_xx), five_503, recovery, notes, problems)


def first_accepted_after(ledger: Ledger, moment: float) -> float | None:
    later = [t for t in ledger.accepted_at if t >= moment]
    return min(later) - moment if later else None
