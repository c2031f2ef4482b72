"""A comparison grid and the outside-image import in the admin, in Chromium (screenshots for a person to look at)."""

from generation.services.grids import grid_create, grid_sheet_make
from tests.factories import make_brief
from tests.generation.conftest import FAST
from tests.review.browser import ARTIFACTS, BROWSER_MARKS, admin_page, browser_password

pytestmark = BROWSER_MARKS


def test_the_grid_table_and_the_import_page_in_the_admin(tiny, cast, live_server):
    from playwright.sync_api import sync_playwright

    alice = cast["alice"]
    password = browser_password(alice)
    grid = grid_create(
        brief=make_brief(client_name="Grid Co"),
        base_model=tiny["base"],
        prompt_text="a red can on a roof",
        params={**FAST, "seed": 3},
        axes=[{"kind": "cfg", "values": [4, 9]}, {"kind": "prompt_sr", "values": ["red", "blue", "green"]}],
    )
    grid_sheet_make(grid=grid)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser, page = admin_page(playwright, base_url=live_server.url, user=alice, password=password)
        page.goto(f"{live_server.url}/admin/generation/gridjob/{grid.pk}/change/")
        table = page.locator("table:has(th:has-text('CFG scale'))")
        assert table.locator("td img").count() == 6 and table.locator("td", has_text="the first cell").count() == 1
        assert table.locator("td", has_text="cfg: 4.0 → 9.0").count() == 3 and "<br>" not in table.inner_text()
        page.screenshot(path=str(ARTIFACTS / "grid-admin-table.png"), full_page=True)
        page.goto(f"{live_server.url}/admin/assets/version/import-images/")
        page.wait_for_selector("input[type=file][multiple]")
        page.screenshot(path=str(ARTIFACTS / "import-images-form.png"))
        browser.close()
