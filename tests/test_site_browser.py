"""The docs site in a real browser: headless Chromium (Debian's) driven by Playwright, pages opened from disk.

Every example repository (examples/*) and the benchmark generator's repository: the page opens with no
console error, search finds a node, selecting it shows its page; selectors pick what `specops graph -s`
picks; the plan overlay marks what the plan says; a large repository opens collapsed and its groups open.
Skipped, with the reason, where Chromium or the playwright package is missing (CI installs both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from compiler.emit.site import build_site, read_plan
from compiler.front.check import require_project
from compiler.spec.project import SpecProject
from compiler.spec.selection import SelectionError, select
from tests.site_support import (
    CHROMIUM_ARGS,
    browser_missing,
    browser_skip_reason,
    chromium,
    churn_with_a_breaking_change,
    example_roots,
    generated_repo,
    until,
)

pytestmark = pytest.mark.skipif(browser_skip_reason() is not None, reason=browser_skip_reason() or "")

READY = "body[data-ready='1']"


def _write(project: SpecProject, out: Path, plan: dict | None = None) -> Path:
    for art in build_site(project, plan):
        target = out / art.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(art.content)
    return out


class Site:
    def __init__(self, project: SpecProject, folder: Path, plan: dict | None = None):
        self.project, self.folder, self.plan = project, folder, plan

    def url(self, page: str = "index.html", suffix: str = "") -> str:
        return (self.folder / page).as_uri() + suffix


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Site]:
    base = tmp_path_factory.mktemp("sites")
    out: dict[str, Site] = {}
    for root in example_roots():
        project = require_project(root)
        out[root.name] = Site(project, _write(project, base / root.name))
    generated = require_project(generated_repo(base / "generated-repo"))
    out["generated"] = Site(generated, _write(generated, base / "generated"))
    root, plan_file = churn_with_a_breaking_change(base / "planned-repo")
    planned = require_project(root)
    plan = read_plan(plan_file.read_text(encoding="utf-8"), "plan.json")
    out["planned"] = Site(planned, _write(planned, base / "planned", plan), plan)
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = browser_missing()
    if missing:  # only when SPECOPS_REQUIRE_BROWSER=1 (CI): there, a browser test that cannot run fails
        pytest.fail(f"browser tests are required here but cannot run: {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)  # headless; a fresh temp profile
        yield b
        b.close()


@pytest.fixture
def open_site(browser) -> Iterator[Callable[..., Any]]:
    """open_site(url) -> a page that has drawn its first frame; page.errors collects console errors."""
    pages = []

    def go(url: str, ready: bool = True):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.errors = []
        page.on("console", lambda m: m.type in ("error", "warning") and page.errors.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: page.errors.append(f"pageerror: {e}"))
        page.goto(url)
        if ready:
            page.wait_for_selector(READY, timeout=60_000)
        pages.append(page)
        return page

    yield go
    for page in pages:
        page.close()


EXAMPLES = [*(r.name for r in example_roots()), "generated"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_opens_searches_and_shows_a_page(sites: dict[str, Site], open_site, name: str) -> None:
    site = sites[name]
    page = open_site(site.url())
    n = len(site.project.graph)
    assert page.evaluate("specops.visible().length") == n  # small repositories open uncollapsed
    assert page.inner_text("#status").startswith(f"{n:,} resources")
    focus, section = _focus(site.project)
    kind, name = focus.split(".", 1)
    page.fill("#search", name)
    page.locator("#results a", has_text=focus).first.click()
    assert page.inner_text("#detailtitle") == focus
    frame = page.frame_locator("#page")
    assert frame.locator("h1").inner_text() == focus
    assert frame.locator("h2", has_text=section).count() == 1
    assert page.evaluate(f"specops.cy.$id('{focus}').hasClass('focus')")
    faded = page.evaluate("specops.cy.nodes('.faded').map(n => n.id())")
    lineage = site.project.graph.upstream(focus) | site.project.graph.downstream(focus)
    assert set(faded) == set(site.project.graph.nodes) - lineage - {focus}
    assert f"focus={kind}." in page.url
    assert page.errors == []


def _focus(project: SpecProject) -> tuple[str, str]:
    """The resource a test opens, and a section of its page: the first model, or the first transform in an
    example without models (examples/clickstream)."""
    if project.models:
        return f"model.{sorted(project.models)[0]}", "Training"
    return f"transform.{sorted(project.transforms)[0]}", "Column lineage"


def _parity_cases(project: SpecProject) -> list[str]:
    focus = _focus(project)[0]
    model = focus.split(".", 1)[1]
    dataset = sorted(project.datasets)[0]
    tag = sorted({t for r in project.resources() for t in r.meta.tags})[0]
    owner = sorted({r.meta.owner for r in project.resources() if r.meta.owner})[0]
    folder = sorted({r.loc.file.rsplit("/", 1)[0] for r in project.resources()})[0]
    inputs = [f"path:{f}" for f in sorted({f for r in project.resources() for f in r.input_files()})[:2]]
    return ["", focus, f"+{focus}", f"dataset.{dataset}+", f"+{focus}+", f"2+{focus}",
            f"dataset.{dataset}+1", f"@dataset.{dataset}", f"tag:{tag}", f"tag:{tag[:2]}*", "kind:model",
            "kind:rule", "kind:quality-rule", f"owner:{owner}", "owner:*", f"path:{folder}", f"path:{folder}/",
            "path:specs/*", f"kind:dataset,tag:{tag}", "kind:model kind:deployment", f"{model[:3]}*",
            f"*{dataset[-3:]}", "kind:d*", "[md]*", "?" * 4 + "*", "+kind:deployment",
            f"tag:{tag} +{focus},kind:dataset", f"1+{focus}", f"path:./{folder}", *inputs]


@pytest.mark.parametrize("name", EXAMPLES)
def test_selectors_pick_what_specops_graph_picks(sites: dict[str, Site], open_site, name: str) -> None:
    site = sites[name]
    page = open_site(site.url())
    for expr in _parity_cases(site.project):
        try:
            expected = sorted(select(site.project, expr))
        except SelectionError as exc:  # e.g. kind:model in a repository without models: the same error
            message = page.evaluate("(e) => { try { specops.select(e); return null; } catch (err) { "
                                    "return err.message; } }", expr)
            assert message is not None and message.split(";")[0] == str(exc).split(";")[0], expr
            continue
        got = page.evaluate("(e) => specops.select(e)", expr)
        assert got == expected, expr
    for bad in ("kind:nope", "colour:red", "+", "kind:", "tag:", "@", "3+", ",", "a,,kind:model",
                "nothing_matches_this", "tag:nothing", "path:nowhere",
                "kind:environment,kind:model"):
        with pytest.raises(SelectionError) as info:
            select(site.project, bad)
        message = page.evaluate("(e) => { try { specops.select(e); return null; } catch (err) { return err.message; } }",
                                bad)
        assert message is not None, bad
        assert message.split(";")[0] == str(info.value).split(";")[0]
    assert page.errors == []


def test_a_selector_typed_in_the_page_shows_its_lineage(sites: dict[str, Site], open_site) -> None:
    site = sites["churn"]
    page = open_site(site.url())
    page.fill("#select", "+model.churn")
    page.press("#select", "Enter")
    assert sorted(page.evaluate("specops.visible()")) == sorted(select(site.project, "+model.churn"))
    assert "select=%2Bmodel.churn" in page.url
    page.fill("#select", "kind:nope")
    page.press("#select", "Enter")
    assert page.get_attribute("#status", "class") == "err"
    assert "unknown kind 'nope'" in page.inner_text("#status")
    page.click("#reset")
    assert page.evaluate("specops.visible().length") == len(site.project.graph)
    # a shared link opens on the same selection
    other = open_site(site.url(suffix="#select=" + "%2Bdataset.customer_features"))
    assert sorted(other.evaluate("specops.visible()")) == sorted(select(site.project, "+dataset.customer_features"))
    assert page.errors == [] and other.errors == []


def test_following_links_in_the_page_moves_the_focus(sites: dict[str, Site], open_site) -> None:
    from playwright.sync_api import expect

    page = open_site(sites["churn"].url(suffix="#focus=model.churn"))
    frame = page.frame_locator("#page")
    frame.locator("a", has_text="dataset.customer_features").first.click()
    until(page, "document.querySelector('#detailtitle').textContent === 'dataset.customer_features'")
    assert page.evaluate("specops.cy.$id('dataset.customer_features').hasClass('focus')")
    assert frame.locator("h1").inner_text() == "dataset.customer_features"
    # a link to the graph inside the page changes the graph's view, without reloading it
    page.evaluate("window.notReloaded = true")
    frame.locator("a", has_text="its whole lineage").click()
    until(page, "location.hash.startsWith('#select=')")
    assert sorted(page.evaluate("specops.visible()")) == sorted(
        select(sites["churn"].project, "+dataset.customer_features+"))
    assert page.evaluate("window.notReloaded === true")
    # and back to a resource the graph had focused before: the frame shows it again
    page.evaluate("specops.reveal('model.churn')")
    expect(frame.locator("h1")).to_have_text("model.churn")
    assert page.errors == []


def test_a_resource_page_opens_on_its_own(sites: dict[str, Site], open_site) -> None:
    page = open_site(sites["churn"].url("r/dataset.customers.html"), ready=False)
    assert page.inner_text("h1") == "dataset.customers"
    assert page.locator("span.flag", has_text="PII").count() == 2
    page.click("nav.crumbs a:text-is('graph')")
    page.wait_for_selector(READY, timeout=60_000)
    assert page.inner_text("#detailtitle") == "dataset.customers"
    assert page.errors == []


def test_the_plan_overlay_marks_what_the_plan_says(sites: dict[str, Site], open_site) -> None:
    site = sites["planned"]
    plan = site.plan
    assert plan is not None
    page = open_site(site.url())
    nodes = page.evaluate("specops.cy.nodes().map(n => [n.id(), n.data('act') || null, n.data('cat') || null, "
                          "n.data('work') || null, n.hasClass('plan')])")
    acts = {n[0]: (n[1], n[2]) for n in nodes if n[1]}
    works = {n[0]: n[3] for n in nodes if n[3]}
    assert acts == {c["address"]: (c["action"], c["category"]) for c in plan["resource_changes"]}
    assert works == {i["address"]: i["work"] for i in plan["impact"]["items"]}
    assert all(n[4] for n in nodes)  # the overlay is on
    impact_edges = page.evaluate("specops.cy.edges('.impact').map(e => [e.data('source'), e.data('target')])")
    assert {tuple(e) for e in impact_edges} == {
        (a, b) for i in plan["impact"]["items"] for a, b in zip(i["path"], i["path"][1:], strict=False)}
    panel = page.inner_text("#planpanel")
    assert plan["summary_line"] in panel
    for work in ("rebuild", "retrain", "rollout"):
        for address in plan["impact"][work]:
            assert page.locator(f"#planpanel details[data-list='{work}'] a:text-is('{address}')").count() == 1
    page.click("#plan")  # the overlay off, then on
    assert page.evaluate("specops.cy.nodes('.plan').length") == 0
    page.click("#plan")
    assert page.evaluate("specops.cy.nodes('.plan').length") == len(site.project.graph)
    # the generated files' diffs are one click away
    page.click("#planpanel a:text('all changes and generated-file diffs')")
    page.wait_for_selector("details.file")
    assert page.locator("details.file").count() == len(plan["artifact_changes"])
    seed = page.locator("details.file", has_text="dbt/seeds/customers.csv")
    seed.locator("summary").click()
    assert "the site never shows its rows" in seed.inner_text()
    assert page.errors == []


def test_a_large_repository_opens_collapsed_and_groups_open(open_site, tmp_path: Path) -> None:
    project = require_project(generated_repo(tmp_path / "repo", n=1600))
    site = Site(project, _write(project, tmp_path / "site"))
    page = open_site(site.url())
    assert "(collapsed)" in page.inner_text("#status")
    groups = page.evaluate("specops.visible().length")
    assert 0 < groups < 200
    # a real click on a group (the largest dataset group) opens it
    target = page.evaluate("specops.cy.nodes('.group').filter(n => n.data('kind') === 'dataset')"
                           ".sort((a, b) => b.width() - a.width())[0].id()")
    box = page.locator("#cy").bounding_box()
    x, y = page.evaluate("(id) => { const p = specops.cy.$id(id).renderedPosition(); return [p.x, p.y]; }", target)
    page.mouse.click(box["x"] + x, box["y"] + y)
    until(page, f"specops.visible().length > {groups}")
    assert target not in page.evaluate("specops.visible()")
    # search reveals a resource inside its (still closed) group
    model = sorted(project.models)[-1]
    page.fill("#search", f"model.{model}")
    page.press("#search", "Enter")
    assert page.evaluate(f"specops.visible().includes('model.{model}')")
    assert page.frame_locator("#page").locator("h1").inner_text() == f"model.{model}"
    assert page.errors == []
