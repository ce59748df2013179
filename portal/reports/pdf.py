"""The board report as a PDF, made on the server with WeasyPrint.

The document is the board report's own HTML (templates/reports/_board_document.html)
in a bare page (board_pdf.html) with the print and board stylesheets read from the
portal's static folder. Charts go in as SVG images with their description as alt
text; the PDF is tagged, with the report's title and language. Nothing is fetched
while rendering: every resource is an inline data: URI and the URL fetcher allows
no other scheme (no file, no network).
"""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

from flask import current_app, render_template
from markupsafe import Markup, escape

from portal.reports.board import BoardReport

STYLESHEETS = ("css/print.css", "css/board.css")


@lru_cache(maxsize=4)
def _css_text(static_folder: str) -> str:
    return "\n".join(Path(static_folder, name).read_text("utf-8") for name in STYLESHEETS)


def svg_image(svg: Markup, alt: str, css_class: str = "chart-img") -> Markup:
    """An inline SVG chart as an <img> with alt text (WeasyPrint tags it as a figure
    with that alternative description)."""
    data = base64.b64encode(str(svg).encode("utf-8")).decode("ascii")
    # The alt text is escaped and the data is base64, so nothing in it is markup.
    return Markup(  # noqa: S704  # nosec B704
        f'<img class="{css_class}" alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}">')


def render(report: BoardReport, **context) -> bytes:
    """The PDF bytes of one board report."""
    import weasyprint

    html = render_template("reports/board_pdf.html", report=report, rnd=report.round,
                           pdf=True, svg_image=svg_image, **context)
    css = weasyprint.CSS(string=_css_text(current_app.static_folder))
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    doc = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url="data:,")
    return doc.write_pdf(stylesheets=[css], pdf_tags=True)
