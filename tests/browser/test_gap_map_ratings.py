"""The gap map coloured by the evidence tier computed by rule, in a browser at 1366 and
390 px: its row labels are whole and on screen, its legend names the rule, and a cell's
studies are listed by author and year."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import watching
from tests.browser.test_people_layout import VIEWPORTS

PATH = "/gap-map?expand=family_meetings,service_integration&cell=family_meetings/fgc:entry:effect"


@pytest.mark.parametrize("kind", list(VIEWPORTS))
def test_gap_map_labels_legend_and_cell(browser: Any, live_server: Any, kind: str) -> None:
    with watching(browser, live_server.url, **VIEWPORTS[kind]) as seen:
        page = seen.page
        page.goto(live_server.url + PATH)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.clientWidth")
        if kind == "desktop":
            labels = page.locator("#gap-svg text.row-label")
            assert labels.count() > 8
            for box in (label.bounding_box() for label in labels.all()):
                if box is None:  # a collapsed row's label is not displayed
                    continue
                assert box["x"] >= 0 and box["x"] + box["width"] <= width
            contents = labels.evaluate_all("els => els.map(e => e.textContent)")
            texts = " ".join(" ".join(t.split()) for t in contents)
            assert "…" not in texts
            assert "Family Group Conference referral at pre-proceedings stage" in texts
        else:
            headings = page.locator("#gap-stack h2, #gap-stack h3")
            for heading in headings.all():
                box = heading.bounding_box()
                if box is not None:
                    assert box["x"] >= 0 and box["x"] + box["width"] <= width
        legend = page.locator(".legend")
        assert "computed by rule" in legend.inner_text()
        assert legend.locator('a[href="/id/rule/evidence-tiers"]').count() == 1
        studies = page.locator("#cell a.study-link")
        assert studies.count() >= 1
        assert "Taylor et al. 2024" in studies.all_inner_texts()
        assert page.locator('#cell a[href="/id/rule/evidence-tiers"]').count() == 1
        # the trial's DOI, as the coding sheet gives it (field-studies.csv)
        assert page.locator('#cell a[href="https://doi.org/10.1093/bjsw/bcae035"]').count() == 1
