"""What the Chromium tests share: Debian's chromium (never a downloaded browser), the marks that skip without
it, one way to launch it, and a sign-in to the admin."""

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (make test installs it as root)"),
]
_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run"]


def chromium_launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=_ARGS)


def admin_sign_in(page, *, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
