"""Peak memory of the survey exports: 5,000 and then 50,000 responses in a temporary SQLite
database. The exports stream, so the peak should barely grow with the number of responses.

    .venv/bin/python bench/bench_survey_export.py [--responses 50000]

Prints, for CSV and XLSX, the bytes produced, the time taken and the peak Python memory
(tracemalloc) while the export runs, and the ratio between the two sizes.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import SurveyAnswer, SurveyResponse  # noqa: E402
from portal.survey_admin.services import create_from_definition  # noqa: E402
from portal.survey_results import exports  # noqa: E402
from portal.surveys import definition  # noqa: E402
from portal.surveys.answers import to_rows  # noqa: E402
from portal.surveys.templates import template_text  # noqa: E402

STAGES = ["student", "early", "mid", "senior", "retired", "undisclosed", None]
REGIONS = ["northeast", "midwest", "south", "west", "international"]


def random_answer(q, rng: random.Random):
    codes = [o.code for o in q.options if not o.is_other]
    t = q.type
    if t == "single_choice":
        return {"option": rng.choice(codes), "other": None}
    if t == "multiple_choice":
        hi = q.setting("max_selections") or len(codes)
        return {"options": rng.sample(codes, rng.randint(1, min(hi, len(codes)))),
                "other": None}
    if t == "likert":
        return rng.randint(1, q.setting("points", 5))
    if t == "likert_matrix":
        return {c: rng.randint(0 if q.setting("allow_na") else 1, q.setting("points", 5))
                for c in codes}
    if t == "ranking":
        return rng.sample(codes, min(q.setting("top_n", 1), len(codes)))
    if t == "long_text":
        return "I would like to lead a team and learn more about data. " * rng.randint(1, 4)
    return None


def fill(survey, n: int, rng: random.Random, batch: int = 2000) -> None:
    questions = survey.ordered_questions()
    for start in range(0, n, batch):
        responses, answers = [], []
        for _ in range(min(batch, n - start)):
            rid = uuid.uuid4()
            responses.append({"id": rid, "survey_id": survey.id, "submitted_on": date.today(),
                              "career_stage": rng.choice(STAGES),
                              "region": rng.choice(REGIONS)})
            for q in questions:
                value = random_answer(q, rng)
                if value is not None:
                    answers.extend({**row, "question_id": q.id, "response_id": rid}
                                   for row in to_rows(q, value))
        db.session.execute(sa.insert(SurveyResponse), responses)
        db.session.execute(sa.insert(SurveyAnswer), answers)
        db.session.commit()


def measure(label: str, chunks) -> tuple[int, float, int]:
    tracemalloc.start()
    started = time.perf_counter()
    size = 0
    for chunk in chunks:
        size += len(chunk)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  {label:<5} {size / 1e6:8.1f} MB written  {elapsed:6.1f} s  "
          f"peak memory {peak / 1e6:6.2f} MB")
    return size, elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--responses", type=int, default=50_000)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
                          "PRIVACY_MIN_COMMENTS": 20})
        with app.app_context():
            db.create_all()
            survey = create_from_definition(definition.parse(template_text("pd-needs")), None)
            survey.open()
            db.session.commit()
            peaks = {}
            done = 0
            for target in (args.responses // 10, args.responses):
                print(f"building {target - done:,} more responses ...", flush=True)
                fill(survey, target - done, rng)
                done = target
                print(f"{target:,} responses:")
                plan = exports.plan(survey)
                peaks[target] = {
                    "CSV": measure("CSV", exports.iter_csv(plan))[2],
                    "XLSX": measure("XLSX", exports.iter_xlsx(plan))[2],
                }
            small, large = sorted(peaks)
            print(f"peak memory ratio {large:,} / {small:,} responses "
                  f"(10x the data; flat means close to 1):")
            for kind in ("CSV", "XLSX"):
                print(f"  {kind:<5} {peaks[large][kind] / peaks[small][kind]:.2f}")
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
