"""The board report as a server-made PDF (issue 16, point 4): a two-page executive
summary, then a numbered appendix; tagged, with title, language and alt text."""

from __future__ import annotations

import io

import pypdf
import pytest

from tests.test_reports_summary import rated  # noqa: F401  (the fixture)


def _pdf(client, path="/reports/board.pdf"):
    resp = client.get(path)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("inline; filename=\"board-report")
    return pypdf.PdfReader(io.BytesIO(resp.data))


def _figures(reader) -> list[str]:
    out = []

    def walk(node, depth=0):
        node = node.get_object()
        if isinstance(node, pypdf.generic.ArrayObject):
            for k in node:
                walk(k, depth)
            return
        if not isinstance(node, pypdf.generic.DictionaryObject) or depth > 80:
            return
        if node.get("/S") == "/Figure":
            out.append(str(node.get("/Alt", "")))
        if "/K" in node:
            walk(node["/K"], depth + 1)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return out


def test_board_pdf_has_a_two_page_summary_then_the_appendix(client, rated, leader,  # noqa: F811
                                                             login):
    login(leader)
    reader = _pdf(client)
    pages = [p.extract_text() for p in reader.pages]
    assert len(pages) >= 3
    first = " ".join(pages[0].split())
    assert "Executive summary" in first.title() or "EXECUTIVE SUMMARY" in first
    assert "What members told us: Spring 2026" in first
    for heading in ("Top priorities", "Largest shortfalls", "Since Spring 2025",
                    "Segments that disagree", "Survey highlights"):
        assert heading in first, heading
    assert "92 of 107 eligible members rated (86%)" in first, first[:600]
    assert "the largest shortfall" in first
    second = " ".join(pages[1].split())
    assert "Priorities at a glance" in second and "Where segments disagree" in second
    # The appendix starts on page 3, never inside the summary.
    assert not any("Appendix" in p for p in pages[:2])
    assert "Appendix" in pages[2] and "A1. Priorities by objective" in pages[2]
    rest = " ".join(" ".join(p.split()) for p in pages[2:])
    for heading in ("A4. Participation", "A8. Methods", "Fisher's exact test"):
        assert heading in rest, heading
    assert "+0.00" not in rest and "p 0.000" not in rest


def test_board_pdf_is_tagged_with_title_language_and_alt_text(client, rated, leader,  # noqa: F811
                                                              login):
    login(leader)
    reader = _pdf(client)
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert reader.metadata.title == "Board report: Spring 2026"
    alts = _figures(reader)
    assert len(alts) >= 3
    assert any(a.startswith("Importance against performance") for a in alts)
    assert all(len(a) > 40 for a in alts)


def test_the_html_board_page_is_the_same_document(client, rated, leader, login):  # noqa: F811
    login(leader)
    html = client.get("/reports/board").get_data(as_text=True)
    for text in ("Board report · Executive summary", "Priorities at a glance",
                 "A1. Priorities by objective", "A8. Methods",
                 'href="/reports/board.pdf"', "css/board.css"):
        assert text in html, text


def test_board_pdf_access_and_bad_arguments(client, rated, leader, member, login):  # noqa: F811
    login(member)
    assert client.get("/reports/board.pdf").status_code == 403
    login(leader)
    for path in ("/reports/board.pdf?round=999", "/reports/board.pdf?round=x",
                 "/reports/board.pdf?reference=nope"):
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize("reference", ["midpoint", "average"])
def test_board_pdf_names_the_reference_of_its_labels(client, rated, leader, login,  # noqa: F811
                                                      reference):
    login(leader)
    reader = _pdf(client, f"/reports/board.pdf?reference={reference}")
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    expected = "the scale midpoint (3)" if reference == "midpoint" else "the averages over"
    assert expected in text
