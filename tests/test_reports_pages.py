"""Leadership pages: access, bad input, sorting, privacy, exports, accessibility basics."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest

from portal.extensions import db
from portal.models import ObjectiveUpdate
from portal.reports import queries
from tests import factories

PAGES = ["/reports/", "/reports/priorities", "/reports/charts", "/reports/segments",
         "/reports/trends", "/reports/objectives/A1", "/reports/comments", "/reports/board"]


@pytest.fixture
def data(app, plan, leader):
    objs = queries.report_objectives([])
    old = factories.make_past_round("Spring 2025", "closed", days_ago=400)
    new = factories.make_past_round("Spring 2026", "open", days_ago=10)
    members = (factories.make_members(25, career_stage="early", region="south")
               + factories.make_members(25, career_stage="senior", region="west")
               + factories.make_members(4, career_stage="retired", region="west"))
    for rnd, shift in ((old, 0), (new, 1)):
        for i, u in enumerate(members):
            for j, o in enumerate(objs[:4]):
                imp = 5 if (u.career_stage == "early" and j == 0) else 2 + (i + j) % 4
                factories.make_rating(u, o, rnd, imp, 1 + (i + j + shift) % 5, commit=False)
        db.session.commit()
    texts = ["The advocacy toolkit is excellent and very useful for our library",
             "Advocacy toolkit updates arrive too late and are confusing",
             "Please publish a timeline for the legislative advocacy work"]
    writers = members[:20] + members[25:29]       # 20 early career, 4 senior
    for i, writer in enumerate(writers):
        factories.make_raw_comment(objs[0], new, f"{texts[i % 3]} (note {i})", user=writer,
                               endorsements=i % 5, career_stage=writer.career_stage)
    factories.make_raw_comment(objs[0], new, "A hidden remark", status="hidden")
    db.session.add(ObjectiveUpdate(objective_id=objs[0].id, status="in_progress", progress=40,
                                   heard="We heard **you**", doing="We are acting"))
    db.session.commit()
    return {"objs": objs, "old": old, "new": new, "members": members}


def test_anonymous_is_sent_to_sign_in_and_members_get_403(client, data, member, login):
    resp = client.get("/reports/")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    login(member)
    for path in PAGES + ["/reports/export/dashboard/priorities.csv", "/reports/comments.csv"]:
        assert client.get(path).status_code == 403, path


@pytest.mark.parametrize("who", ["leader", "admin"])
def test_leaders_and_admins_see_every_page(client, data, login, request, who):
    login(request.getfixturevalue(who))
    for path in PAGES:
        resp = client.get(path)
        assert resp.status_code == 200, path
        html = resp.get_data(as_text=True)
        assert html.count("<h1") == 1, path
        # CSP: no inline style anywhere, inline SVG included.
        assert "<style" not in html and " style=" not in html, path
        assert "<script>" not in html


@pytest.mark.parametrize("path", [
    "/reports/?round=999", "/reports/?round=abc", "/reports/objectives/Z9",
    "/reports/segments?dimension=shoe_size", "/reports/segments?by=nope",
    "/reports/segments?measure=vibes", "/reports/trends?compare=999",
    "/reports/segments/shoe_size", "/reports/export/dashboard/nope.csv",
    "/reports/export/dashboard/priorities.pdf", "/reports/export/nope/x.csv",
    "/reports/comments?objective=99999", "/reports/comments?segment=region:mars",
    "/reports/objectives/A1?value=nowhere",
])
def test_unknown_things_in_the_url_are_404(client, data, leader, login, path):
    login(leader)
    assert client.get(path).status_code == 404


def test_dashboard_shows_figures_and_sorts_without_javascript(client, data, leader, login):
    login(leader)
    html = client.get("/reports/priorities").get_data(as_text=True)
    assert "Member priorities: Spring 2026" in html
    assert "Concentrate here" in html or "Keep up the good work" in html
    codes = re.findall(r'<th scope="row"[^>]*>\s*<a href="/reports/objectives/(\w+)', html)
    assert codes[:4] == ["A1", "A2", "A3", "A4"]
    sort = "/reports/priorities?sort=priorities.imp_mean&dir="
    asc = client.get(sort + "asc").get_data(as_text=True)
    desc = client.get(sort + "desc").get_data(as_text=True)
    row_link = r'<th scope="row"[^>]*>\s*<a href="/reports/objectives/(\w+)'
    first_asc, first_desc = re.findall(row_link, asc), re.findall(row_link, desc)
    assert first_desc[0] == "A1"              # the early-career members make A1 essential
    assert first_asc.index("A1") > first_asc.index("A2")
    assert 'aria-sort="descending"' in desc
    # Participation against eligible members (54 members; the leader's staff account
    # is not part of the base).
    assert "All eligible members" in html and "54" in html


def test_exports_carry_the_same_suppressed_cells_as_the_page(client, data, leader, login):
    login(leader)
    resp = client.get("/reports/export/dashboard/participation.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    retired = [r for r in rows if r[1].startswith("Retired")]
    assert retired and retired[0][2] == "fewer than 10"
    page = client.get("/reports/priorities").get_data(as_text=True)
    assert "fewer than 10" in page
    xlsx = client.get("/reports/export/dashboard/all.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data), read_only=True)
    assert set(book.sheetnames) == {"priorities", "domains", "participation"}
    values = [c for row in book["participation"].iter_rows(values_only=True) for c in row]
    assert "fewer than 10" in values
    book.close()
    heat = client.get("/reports/export/segments/heatmap.csv?dimension=career_stage")
    text = heat.get_data(as_text=True)
    assert "Retired" in text and "fewer than 10" in text


def test_segment_heatmap_flags_the_disagreement_with_symbol_and_number(client, data, leader,
                                                                        login):
    login(leader)
    html = client.get("/reports/segments?dimension=career_stage").get_data(as_text=True)
    assert "▲ higher" in html                                 # early career on A1
    assert re.search(r"\+\d+ pts", html)
    crossed = client.get("/reports/segments?dimension=career_stage&by=region")
    assert crossed.status_code == 200
    assert "Early career (0–5 years) · South (US)" in crossed.get_data(as_text=True)


def test_drilldown_shows_updates_and_comment_summary_without_names(client, data, leader,
                                                                   login):
    login(leader)
    html = client.get("/reports/objectives/A1").get_data(as_text=True)
    assert "We heard <strong>you</strong>" in html
    assert "Main themes" in html and "advocacy" in html
    assert "Most endorsed comments" in html
    assert "Member 1" not in html and data["members"][0].display_name not in html
    assert "A hidden remark" not in html
    # A slice below PRIVACY_MIN_COMMENTS shows no texts.
    small = client.get("/reports/objectives/A1?dimension=career_stage&value=senior")
    small_html = small.get_data(as_text=True)
    assert 'id="comments-suppressed"' in small_html
    assert "fewer than 20" in small_html and "Main themes" not in small_html


def test_comment_explorer_filters_pages_and_exports_without_names(client, data, leader, login):
    login(leader)
    html = client.get("/reports/comments").get_data(as_text=True)
    assert "24 comments match" in html
    assert "A hidden remark" not in html
    # A keyword alone selects public comments: listed however few, with the names
    # members see. (This used to read "Fewer than 20 comments match".)
    narrow = client.get("/reports/comments?keyword=confusing").get_data(as_text=True)
    assert "8 comments match" in narrow
    assert narrow.count("are confusing (note") == 8
    assert data["members"][1].display_name in narrow
    narrow_csv = client.get("/reports/comments.csv?keyword=confusing")
    assert narrow_csv.status_code == 200
    assert len(list(csv.reader(io.StringIO(narrow_csv.get_data(as_text=True))))) == 9
    # A segment filter with only 4 senior comments is withheld, page and export alike.
    senior = client.get("/reports/comments?segment=career_stage:senior").get_data(as_text=True)
    assert 'id="comments-suppressed"' in senior and "(note" not in senior
    assert client.get("/reports/comments.csv?segment=career_stage:senior").status_code == 404
    resp = client.get("/reports/comments.csv")
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0] == ["Round", "Objective", "Date", "Kind", "Endorsements", "Comment"]
    assert len(rows) == 25
    names = {m.display_name for m in data["members"]} | {m.email for m in data["members"]}
    assert not any(cell in names for row in rows for cell in row)
    too_long = client.get("/reports/comments?keyword=" + "x" * 200)
    assert too_long.status_code == 400
    assert 'id="keyword-error"' in too_long.get_data(as_text=True)


def test_board_report_names_the_round_and_date_and_prints(client, data, leader, login):
    login(leader)
    html = client.get("/reports/board").get_data(as_text=True)
    assert "What members told us: Spring 2026" in html
    assert "Prepared on" in html
    assert "Since Spring 2025" in html
    assert "Survey highlights" in html and "No survey results to report." in html
    assert 'href="/static/css/print.css"' in html
    with client.get("/static/css/print.css") as css:
        assert b".board-report" in css.data


def test_round_without_ratings_and_no_rounds_at_all(client, app, plan, leader, login):
    login(leader)
    assert "There are no feedback rounds yet" in client.get("/reports/").get_data(as_text=True)
    rnd = factories.make_past_round("Empty round")
    for path in ["/reports/", "/reports/charts", "/reports/segments", "/reports/board",
                 f"/reports/objectives/A1?round={rnd.id}"]:
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert 'id="empty-state"' in resp.get_data(as_text=True), path
    trends = client.get("/reports/trends").get_data(as_text=True)
    assert "no earlier round" in trends


def test_dashboard_queries_do_not_grow_with_objectives(client, data, leader, login,
                                                       query_counter):
    login(leader)
    client.get("/reports/priorities")
    with query_counter() as statements:
        assert client.get("/reports/priorities").status_code == 200
    # A fixed handful of GROUP BY reads, whatever the number of objectives.
    assert len(statements) <= 15, statements
    # No page reads ratings; the snapshot job's one probe of the newest rating time
    # (an index lookup on ix_ratings_round_updated) is the only exception.
    assert not any("FROM ratings" in s and "max(ratings.updated_at)" not in s
                   for s in statements), statements


def test_charts_are_svg_with_title_description_and_table(client, data, leader, login):
    login(leader)
    html = client.get("/reports/charts").get_data(as_text=True)
    assert html.count('role="img"') == 3
    assert html.count("<title id=") == 3 and html.count("<desc id=") == 3
    assert "performance = importance" in html           # the diagonal of the scatter
    assert html.count("<caption") >= 3
