import pytest
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

def test_tour(browser_page, live_server):
    page = browser_page
    sign_in(page, "manager")
    for name, url in [("docs", "/documents/"), ("useredit", "/users/1/edit/"), ("audit", "/audit/"), ("docs-filtered", "/documents/?q=zzz")]:
        page.goto(url)
        screenshot(page, f"tour-{name}")
    page.goto("/users/1/edit/")
    page.fill("#id_username", "")
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.click("form#object-form button[type=submit]")
    page.wait_for_timeout(300)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "tour-useredit-errors")
