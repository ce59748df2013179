"""Attack the anonymity of survey answers on demo data, as someone holding the database.

Builds the demo data (`flask demo-data --members N`) in a temporary SQLite file (and,
with --postgres, a scratch PostgreSQL database), then lets `--known` demo members whose
identity the attacker knows submit the open PD-needs survey through the real service,
each with a unique answer, closes the survey (releasing the last, padded batch) and
runs every attack of tests/test_survey_anonymity.py:

- pairing by key order, by date, and on PostgreSQL by xmin, xmin + 1, the next
  release, ctid and their ranks;
- the SQLite database and WAL files searched for the known answers before release;
- PostgreSQL WAL: the transaction of the first WAL record that carries each response key;
- stored segment combinations with fewer than PRIVACY_MIN_N candidates.

It prints the links found per attack beside what blind guessing within a batch gets
(and its 99.99th percentile), and exits 1 when any attack beats that bound.

    .venv/bin/python -m bench.attack_anonymity [--members 2000] [--known 50]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from scipy.stats import binom

from bench.harness import ROOT, add_postgres_option, databases, machine_summary, portal_env


def flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", *args], env=env, cwd=ROOT,  # noqa: S603
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def run(label: str, url: str, members: int, known: int) -> list[str]:
    env = portal_env(url, FLASK_APP="portal")
    flask(env, "db", "upgrade")
    flask(env, "plan", "import", "--if-empty")
    flask(env, "demo-data", "--members", str(members), "--seed", "3", "--quiet",
          "--password", "attack demo password")
    os.environ.update({k: env[k] for k in ("ANONYMITY_KEY", "SECRET_KEY")})
    from portal import create_app
    from portal.extensions import db

    app = create_app({"CONFIG": "development", "SQLALCHEMY_DATABASE_URI": url,
                      "PUBLIC_PAGE_CACHE_SECONDS": 0})
    with app.app_context():
        try:
            return _attack(label, app, known)
        finally:
            db.session.remove()
            db.engine.dispose()


def _attack(label: str, app, known: int) -> list[str]:
    from portal.extensions import db
    from portal.models import (
        Survey,
        SurveyAnswer,
        SurveyDraft,
        SurveyParticipation,
        SurveyPoolEntry,
        SurveyResponse,
        User,
    )
    from portal.surveys import pool, submission

    k = app.config["PRIVACY_MIN_N"]
    survey = db.session.scalar(sa.select(Survey).where(Survey.template_key == "pd-needs"))
    survey_id = survey.id
    pg = db.engine.dialect.name == "postgresql"
    start_lsn = db.session.scalar(sa.text("SELECT pg_current_wal_lsn()")) if pg else None
    # Known members: demo members who have not answered yet.
    done = sa.select(SurveyParticipation.user_id).where(
        SurveyParticipation.survey_id == survey.id)
    users = list(db.session.scalars(sa.select(User).where(
        User.role == "member", User.email_verified_at.is_not(None), User.id.not_in(done))
        .order_by(User.id).limit(known)))
    template = _complete_answers(survey)
    text_q = next(q for q in survey.ordered_questions() if q.type == "long_text")
    sections = [s.id for s in survey.sections]
    canaries = {}
    for i, user in enumerate(users):
        answers = {**template, text_q.code: f"attack-canary-{i:04d}"}
        canaries[user.id] = answers[text_q.code]
        db.session.add(SurveyDraft(survey_id=survey.id, user_id=user.id, answers=answers,
                                   completed_sections=sections))
        db.session.commit()
        submission.submit(db.session.get(Survey, survey.id), db.session.get(User, user.id))
    waiting_blobs = [bytes(b) for b in db.session.scalars(sa.select(SurveyPoolEntry.sealed))]
    waiting_before_close = len(waiting_blobs)
    file_links = 0
    if not pg:
        db.session.remove()
        blob = b"".join(p.read_bytes() for p in _sqlite_files(db.engine.url.database))
        waiting_canaries = [c for c in canaries.values()
                            if c.encode() in blob]
        released_texts = set(db.session.scalars(sa.select(SurveyAnswer.text_value).where(
            SurveyAnswer.text_value.like("attack-canary-%"))))
        # A canary in the files that is NOT released yet would be an unsealed answer.
        file_links = len(set(waiting_canaries) - released_texts)
    survey = db.session.get(Survey, survey_id)
    survey.close()
    db.session.commit()
    pool.release_due()
    text_by_response = dict(db.session.execute(
        sa.select(SurveyAnswer.text_value, SurveyAnswer.response_id)
        .where(SurveyAnswer.question_id == text_q.id,
               SurveyAnswer.text_value.like("attack-canary-%"))).all())
    truth = {uid: text_by_response.get(c) for uid, c in canaries.items()}
    assert all(truth.values()), "a known answer is missing"
    found: dict[str, int] = {"SQLite files: unsealed answers before release": file_links}
    parts = sorted(truth)
    keys = sorted(truth.values(), key=str)
    found["key order"] = sum(truth[u] == r for u, r in zip(parts, keys, strict=True))
    if pg:
        found.update(_pg_attacks(db, survey, truth, start_lsn))
    # Segment combinations: within each release batch (whose members an attacker with
    # the WAL knows), every stored combination must be shared by k of its members.
    size = pool.batch_size()
    skeys = survey.breakdown_keys
    cols = [getattr(SurveyResponse, key) for key in skeys]
    stored = {r[0]: tuple(r[1:]) for r in db.session.execute(
        sa.select(SurveyResponse.id, *cols).where(SurveyResponse.survey_id == survey_id))}
    order = sorted(truth)  # submission order
    cuts = list(range(0, len(order), size))
    batches = [order[c:c + size] for c in cuts]
    if len(batches) > 1 and len(batches[-1]) < k:
        batches[-2:] = [batches[-2] + batches[-1]]
    small = []
    for members in batches:
        classes = Counter(stored[truth[u]] for u in members)
        small += [c for c, n in classes.items() if n < k]
    dates = Counter(db.session.scalars(sa.select(SurveyResponse.submitted_on)
                                       .where(SurveyResponse.survey_id == survey.id)))
    bound = int(binom.ppf(0.9999, len(truth), 1 / k))
    print(f"\n{label}: {len(truth)} known submissions; batches of {size} (at least {k}); "
          f"{waiting_before_close} waited at close; {len(stored)} responses in all")
    print(f"  blind guessing among {k} (the smallest batch): {len(truth) / k:.1f} expected, "
          f"{bound} at the 99.99th percentile")
    failed = []
    for name, links in found.items():
        print(f"  {name:<48} {links:>3} links")
        if links > bound or (name.startswith("SQLite files") and links):
            failed.append(f"{label}: {name}")
    print(f"  release batches of the known members: {[len(b) for b in batches]}; stored "
          f"combinations in them: {len({stored[truth[u]] for u in truth})}, with fewer "
          f"than {k} members of their batch: {len(small)}; all responses: "
          f"{len(set(stored.values()))} combinations; smallest date group: "
          f"{min(dates.values())} responses")
    if small or min(dates.values()) < k:
        failed.append(f"{label}: segments or dates")
    return failed


def _complete_answers(survey) -> dict:
    """A complete, valid set of answers to the PD-needs survey, from a demo response."""
    from portal.extensions import db
    from portal.models import SurveyResponse
    from portal.surveys.services import answers_of_response

    rid = db.session.scalar(sa.select(SurveyResponse.id)
                            .where(SurveyResponse.survey_id == survey.id).limit(1))
    return answers_of_response(survey, rid)


def _sqlite_files(path: str) -> list[Path]:
    return [p for p in (Path(path), Path(f"{path}-wal"), Path(f"{path}-journal"))
            if p.exists()]


def _pg_attacks(db, survey, truth, start_lsn) -> dict[str, int]:
    parts = db.session.execute(sa.text(
        "SELECT user_id, xmin::text::bigint AS x, ctid::text AS c FROM survey_participations"
        " WHERE survey_id = :s"), {"s": survey.id}).all()
    parts = [p for p in parts if p.user_id in truth]
    resps = db.session.execute(sa.text(
        "SELECT id, xmin::text::bigint AS x, ctid::text AS c FROM survey_responses"
        " WHERE survey_id = :s"), {"s": survey.id}).all()

    def ctid(c):
        a, b = c.strip("()").split(",")
        return int(a), int(b)

    def score(pairs):
        return sum(1 for u, r in pairs if truth.get(u) == r)

    by_x: dict[int, list] = {}
    for r in sorted(resps, key=lambda r: ctid(r.c)):
        by_x.setdefault(r.x, []).append(r.id)
    xs = sorted(by_x)
    out = {
        "xmin": score((p.user_id, by_x[p.x][0]) for p in parts if p.x in by_x),
        "xmin + 1": score((p.user_id, by_x[p.x + 1][0]) for p in parts if p.x + 1 in by_x),
        "next release, first by ctid": score(
            (p.user_id, by_x[next(x for x in xs if x > p.x)][0]) for p in parts
            if any(x > p.x for x in xs)),
        "same ctid": score((p.user_id, {r.c: r.id for r in resps}.get(p.c)) for p in parts),
    }
    mine = [r for r in resps if r.id in set(truth.values())]
    out["ctid rank"] = score(zip([p.user_id for p in sorted(parts, key=lambda p: ctid(p.c))],
                                 [r.id for r in sorted(mine, key=lambda r: ctid(r.c))],
                                 strict=False))
    out["xmin rank"] = score(zip([p.user_id for p in sorted(parts, key=lambda p: p.x)],
                                 [r.id for r in sorted(mine, key=lambda r: (r.x, ctid(r.c)))],
                                 strict=False))
    out["WAL: first record's transaction = member's"] = _pg_wal(db, truth, parts, start_lsn)
    return out


def _pg_wal(db, truth, parts, start_lsn) -> int:
    db.session.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_walinspect"))
    db.session.commit()
    end = db.session.scalar(sa.text("SELECT pg_current_wal_flush_lsn()"))
    records = db.session.execute(sa.text(
        "SELECT (start_lsn - '0/0'::pg_lsn)::bigint, (end_lsn - '0/0'::pg_lsn)::bigint, "
        "xid::text::bigint FROM pg_get_wal_records_info(:a, :b) ORDER BY start_lsn"),
        {"a": start_lsn, "b": end}).all()
    files = db.session.execute(sa.text(
        "SELECT DISTINCT f.file_name, (r.start_lsn - '0/0'::pg_lsn)::bigint - f.file_offset "
        "FROM pg_get_wal_records_info(:a, :b) r, pg_walfile_name_offset(r.start_lsn) f"),
        {"a": start_lsn, "b": end}).all()
    first: dict = {}
    for name, base in sorted(files, key=lambda f: f[1]):
        data = bytes(db.session.scalar(sa.text("SELECT pg_read_binary_file(:p)"),
                                       {"p": f"pg_wal/{name}"}))
        for rid in truth.values():
            at = data.find(rid.bytes) if rid not in first else -1
            while at >= 0:
                owner = next((x for lo, hi, x in records if lo <= base + at < hi), None)
                if owner:
                    first[rid] = owner
                    break
                at = data.find(rid.bytes, at + 1)
    own = {p.user_id: p.x for p in parts}
    # Only an exact pairing counts: the response's first record in the member's own
    # transaction (xmin + 1 is the release of the batch the member completed).
    return sum(1 for u, r in truth.items() if first.get(r) == own.get(u))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--known", type=int, default=50)
    add_postgres_option(parser)
    args = parser.parse_args()
    print(f"Anonymity attacks on demo data ({machine_summary()})")
    failed: list[str] = []
    for label, url in databases(args.postgres, "attack"):
        failed += run(label, url, args.members, args.known)
    if failed:
        print("Attacks that beat chance: " + "; ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
