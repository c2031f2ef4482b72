"""What the Chromium tests share: Debian's chromium (never a downloaded browser), the marks that skip without
it, one way to launch it, a sign-in to the admin, and the folder screenshots go to for a person to look at."""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

ARTIFACTS = Path(os.environ.get("SEED_TEST_ARTIFACTS", settings.BASE_DIR / ".test-artifacts")) / "screenshots"

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (make test installs it as root)"
    ),
]
_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=_ARGS)


def browser_password(user) -> str:
    """Give a staff user a password to type into the admin's login (set before Playwright holds the thread)."""
    password = f"{user.get_username()}-browser-pass"
    user.set_password(password)
    user.save(update_fields=["password"])
    return password


def admin_page(playwright, *, base_url: str, user, password: str, viewport=(1280, 800)):
    """Chromium, one page of the given size, signed in to the admin: (browser, page)."""
    browser = chromium_launch(playwright)
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    admin_sign_in(page, base_url=base_url, username=user.get_username(), password=password)
    return browser, page


def admin_sign_in(page, *, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


def serious_accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands (focus, contrast, names, roles)."""
    from axe_playwright_python.sync_playwright import Axe

    response = Axe().run(page).response
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[node['target'] for node in v['nodes']][:3]}"
        for v in response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
