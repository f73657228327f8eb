"""Notebook views: ``_repr_html_`` of a fit and of its summary, rendered into a page.

A headless-browser screenshot of such a page is part of the issue's closing note; the
test itself needs no browser: it parses the page and checks its tables and numbers.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

import mixedmodels as mm
from mixedmodels.results.html import page


class _Tables(HTMLParser):
    """Collects captions and cell texts of every table."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._in_caption = False
        self.open_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag not in ("meta", "br"):
            self.open_tags.append(tag)
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "caption":
            self._in_caption = True

    def handle_endtag(self, tag: str) -> None:
        assert self.open_tags and self.open_tags[-1] == tag, (tag, self.open_tags[-3:])
        self.open_tags.pop()
        if tag in ("td", "th"):
            self.tables[-1]["rows"][-1].append("".join(self._cell or []))
            self._cell = None
        elif tag == "caption":
            self._in_caption = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_caption:
            self.tables[-1]["caption"] += data


def _parse(html: str) -> _Tables:
    parser = _Tables()
    parser.feed(html)
    parser.close()
    assert parser.open_tags == [], parser.open_tags  # every tag closed, in order
    return parser


@pytest.fixture(scope="module")
def fit():
    return mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))


def test_results_repr_html_renders_a_compact_page(fit, tmp_path) -> None:
    html = fit._repr_html_()
    path = tmp_path / "fit.html"
    path.write_text(page(html), encoding="utf-8")
    parsed = _parse(path.read_text(encoding="utf-8"))
    assert [table["caption"] for table in parsed.tables] == ["Random effects", "Fixed effects"]
    random_rows = parsed.tables[0]["rows"]
    assert random_rows[0] == ["Groups", "Name", "Variance", "Std.Dev.", "Corr"]
    assert random_rows[1][:4] == ["Subject", "(Intercept)", "612.09", "24.740"]
    fixed_rows = parsed.tables[1]["rows"]
    assert fixed_rows[0] == ["", "Estimate", "Std. Error", "t value"]
    assert fixed_rows[2] == ["Days", "10.467", "1.546", "6.771"]
    assert "Reaction ~ Days + (Days | Subject)" in html
    assert "REML criterion" in html and "1743.6283" in html


def test_summary_repr_html_has_every_table(fit) -> None:
    parsed = _parse(fit.summary()._repr_html_())
    assert [table["caption"] for table in parsed.tables] == [
        "Scaled residuals",
        "Random effects",
        "Fixed effects",
        "Correlation of Fixed Effects",
    ]
    assert parsed.tables[3]["rows"][1] == ["Days", "-0.138"]


def test_html_escapes_names() -> None:
    data = mm.datasets.load("sleepstudy").rename(columns={"Days": "a<b"})
    fit = mm.lmer("Reaction ~ Q('a<b') + (1 | Subject)", data)
    html = fit._repr_html_()
    assert "a<b" not in html.replace("<b>", "")
    _parse(html)


def test_each_summary_table_renders_alone(fit) -> None:
    for table in fit.summary().tables:
        parsed = _parse(table._repr_html_())
        assert [t["caption"] for t in parsed.tables] == [table.title.rstrip(":")]
