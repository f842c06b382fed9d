"""Every page people reach from the nav, on a desktop (1366 px) and on a phone (390 px): no
sideways scroll of the page, no console errors, and no serious or critical accessibility
violations found by axe-core (injected from node_modules, never from a CDN). On a phone the
gap map's bubbles are on screen. Screenshots of the phone pages go to docs/img/."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Watched, screenshot, watching

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1366, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 1,
    },
}

PAGES = [
    "/",
    "/explore",
    "/explore?outcome=reunification",
    "/explore?outcome=entry&country=Narnia",
    "/explore?outcome=entry&limit=5",
    "/gap-map",
    "/gap-map?colour=direction&expand=family_finances&cell=family_finances:entry:effect",
    "/local-authorities",
    "/sparql-editor",
    "/ontology",
    "/id/study/chambers2019_parent_partner",
    "/api/docs",
    # evidence ratings computed by rule: the gap map's default colouring with a cell's
    # studies listed, a finding with its design rating, and a rule
    "/gap-map?expand=family_meetings&cell=family_meetings/fgc:entry:effect",
    "/id/finding/taylor2024_fgc_rct-days-in-care",
    "/id/rule/evidence-tiers",
]


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def device(
    request: pytest.FixtureRequest, browser: Any, live_server: Any
) -> Iterator[tuple[str, Watched]]:
    """("desktop" or "phone", a watched page in a browser of that size)."""
    with watching(browser, live_server.url, **VIEWPORTS[request.param]) as seen:
        yield request.param, seen


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical violations axe-core finds on the page as it stands."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is absent: run `npm install` (axe-core is a dev dependency)")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                targets: v.nodes.map(n => n.target.join(" ")),
            }));
        }"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n    "
        + "\n    ".join(v["targets"][:12])
        + (f"\n    ... and {len(v['targets']) - 12} more" if len(v["targets"]) > 12 else "")
        for v in violations
    )


def sideways(page: Any) -> dict[str, Any]:
    """How wide the page is against the window, and the elements sticking out of it."""
    return dict(
        page.evaluate(
            """() => {
            const width = document.documentElement.clientWidth;
            const out = [];
            for (const el of document.querySelectorAll("body *")) {
                const box = el.getBoundingClientRect();
                if (box.right > width + 1 && box.width > 0) {
                    out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
                             + (el.className && typeof el.className === "string"
                                ? "." + el.className.trim().split(/\\s+/).join(".") : "")
                             + " right=" + Math.round(box.right));
                }
            }
            return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                    out: out.slice(0, 10)};
        }"""
        )
    )


def faint_marks(page: Any) -> list[str]:
    """Text of punctuation or symbols only ("–", "·", "*"), which axe's colour-contrast rule
    does not judge, below 4.5:1 against the first opaque background behind it."""
    return list(
        page.evaluate(
            """() => {
            const parse = c => {
                const m = c.match(/rgba?\\(([^)]+)\\)/);
                if (!m) { return null; }
                const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
                return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
            };
            const lum = c => [c.r, c.g, c.b].map(v => {
                v /= 255;
                return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
            }).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
            const behind = el => {
                for (let e = el; e; e = e.parentElement) {
                    const c = parse(getComputedStyle(e).backgroundColor);
                    if (c && c.a > 0) { return c; }
                }
                return {r: 255, g: 255, b: 255, a: 1};
            };
            const out = [];
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            for (let n = walker.nextNode(); n; n = walker.nextNode()) {
                const text = n.textContent.trim();
                const el = n.parentElement;
                if (!text || !/^[\\p{P}\\p{S}]+$/u.test(text) || el.closest("svg")) { continue; }
                const style = getComputedStyle(el);
                if (style.visibility !== "visible" || !el.getClientRects().length) { continue; }
                const bg = behind(el), fg = parse(style.color);
                const mix = {r: fg.r * fg.a + bg.r * (1 - fg.a), g: fg.g * fg.a + bg.g * (1 - fg.a),
                             b: fg.b * fg.a + bg.b * (1 - fg.a)};
                const [hi, lo] = [lum(mix), lum(bg)].sort((x, y) => y - x);
                const ratio = (hi + 0.05) / (lo + 0.05);
                if (ratio < 4.5) {
                    const on = `rgb(${bg.r}, ${bg.g}, ${bg.b})`;
                    out.push(`${el.tagName.toLowerCase()}.${el.className} "${text}" ` +
                             `${ratio.toFixed(2)}:1 (${style.color} on ${on})`);
                }
            }
            return out;
        }"""
        )
    )


@pytest.mark.parametrize("path", PAGES)
def test_page_for_people(device: tuple[str, Watched], path: str) -> None:
    kind, seen = device
    page = seen.page
    response = page.goto(seen.origin + path)
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    width = VIEWPORTS[kind]["viewport"]["width"]
    faults: list[tuple[str, str]] = []
    wide = sideways(page)
    if wide["scroll"] > wide["inner"] or wide["inner"] != width:
        faults.append(
            ("width", f"the page is {wide['scroll']} px wide in a {width} px window: {wide}")
        )
    faults.extend(("contrast", mark) for mark in faint_marks(page))
    violations = axe_violations(page)
    faults.extend((f"axe:{v['id']}", describe([v])) for v in violations)
    report = "\n".join(f"[{check}] {text}" for check, text in faults)
    assert not faults, f"{path} at {kind} ({width} px):\n{report}"
    if kind == "phone" and path == "/":
        screenshot(page, "home-phone")


def test_gap_map_bubbles_on_a_phone(browser: Any, live_server: Any) -> None:
    with urllib.request.urlopen(live_server.url + "/gap-map.json", timeout=30) as response:
        cells = [c for c in json.load(response)["cells"] if c["n_studies"]]
    with watching(browser, live_server.url, **VIEWPORTS["phone"]) as seen:
        page = seen.page
        page.goto(live_server.url + "/gap-map")
        bubbles = page.locator("a.bubble:visible")
        # Every type's non-empty cell has a bubble a phone shows (the intervention rows are
        # collapsed), and none is cut off or behind a sideways scroll.
        assert bubbles.count() == len(cells)
        width = page.evaluate("window.innerWidth")
        boxes = [b.bounding_box() for b in bubbles.all()]
        off = [
            key
            for key, box in zip(
                bubbles.evaluate_all("els => els.map(e => e.dataset.cell)"), boxes, strict=True
            )
            if box is None or box["x"] < 0 or box["x"] + box["width"] > width
        ]
        assert off == [], f"bubbles off screen at {width} px: {off}"
        assert {b.get_attribute("data-cell") for b in bubbles.all()} == {
            f"{c['intervention_type']}:{c['outcome']}:{c['dimension']}" for c in cells
        }
        page.evaluate("document.getElementById('gap-stack').scrollIntoView()")
        screenshot(page, "gap-map-phone")
        # A type's name expands it in place to its interventions, each with its own map.
        subs = page.locator('#gap-stack .sub[data-parent="family_finances"]')
        assert subs.count() >= 2 and not subs.first.is_visible()
        button = page.locator('#gap-stack button[data-type="family_finances"]')
        button.tap()
        assert button.get_attribute("aria-expanded") == "true"
        assert "expand=family_finances" in page.url
        assert subs.first.is_visible()
        eitc = page.locator(
            'a.bubble:visible[data-cell="family_finances/eitc_expansion:entry:effect"]'
        )
        box = eitc.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        # A bubble lists its studies here too.
        busiest = max(cells, key=lambda c: c["n_studies"])
        key = f"{busiest['intervention_type']}:{busiest['outcome']}:{busiest['dimension']}"
        page.locator(f'a.bubble:visible[data-cell="{key}"]').click()
        page.wait_for_selector("#cell")
        assert page.locator("#cell a.study-link").count() == min(busiest["n_studies"], 500)
