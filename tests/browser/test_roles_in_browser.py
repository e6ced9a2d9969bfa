"""Every role signs in through the real form and works in a real browser."""

import re

import pytest

from practicedesk.core.roles import ROLES
from practicedesk.demo.foundation import ROLE_USERS
from tests.browser.conftest import screenshot, sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the chromium fixture skips, or fails under CI, with the reason
    expect = None

pytestmark = pytest.mark.browser

LIST = "main table, main ul.link-list"


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.key)
def test_each_role_signs_in_and_opens_a_list(browser_page, live_server, role):
    page = browser_page
    username, first_name, last_name = ROLE_USERS[role.key]

    sign_in(page, username)

    expect(page.locator(".topbar .who")).to_contain_text(f"{first_name} {last_name}")
    if "dashboard" in role.grants:
        assert page.url == f"{live_server.url}/dashboard/"
        expect(page.locator("h1")).to_have_text("Dashboard")
    else:  # the home page lists the areas open to the role
        assert page.url == f"{live_server.url}/"
        expect(page.locator("h1")).to_contain_text(first_name)
    screenshot(page, f"{role.key}-home")

    # The first menu page that is a list; every page passed on the way must open as well.
    hrefs = page.locator('nav#sidebar a:not([href="/"])').evaluate_all(
        "links => links.map(link => link.getAttribute('href'))"
    )
    assert hrefs, f"the {role.name} menu offers no page besides Home"
    for href in hrefs:
        link = page.locator(f'nav#sidebar a[href="{href}"]')
        label = link.inner_text().strip()
        with page.expect_navigation() as navigation:
            link.click()
        assert navigation.value.status == 200, f"{label} answered {navigation.value.status}"
        if page.locator(LIST).count():
            break
    else:
        pytest.fail(f"no page in the {role.name} menu shows a list")
    expect(page.locator(LIST).first).to_be_visible()
    expect(page.locator("nav#sidebar a[aria-current=page]")).to_have_text(label)
    screenshot(page, f"{role.key}-list")

    page.watch.assert_clean(page)


def test_tablet_hides_the_menu_behind_a_button(tablet_page):
    page = tablet_page
    sign_in(page, ROLE_USERS["manager"][0])

    sidebar = page.locator("nav#sidebar")
    toggle = page.get_by_role("button", name="Menu")
    expect(sidebar).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    screenshot(page, "manager-tablet-home")

    toggle.click()
    expect(sidebar).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(sidebar.get_by_role("link", name="Users")).to_be_visible()
    screenshot(page, "manager-tablet-menu")

    toggle.click()
    expect(sidebar).to_be_hidden()
    page.watch.assert_clean(page)


def test_wrong_password_shows_the_error_on_the_login_page(browser_page, live_server):
    page = browser_page
    page.goto("/accounts/login/")
    screenshot(page, "login")

    sign_in(page, ROLE_USERS["manager"][0], password="not-the-password")

    assert page.url.startswith(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page.locator("#id_username")).to_have_value(ROLE_USERS["manager"][0])
    expect(page.locator(".topbar")).to_have_count(0)
    screenshot(page, "login-error")
    # The browser logs the 200-with-error page as fine; a refused load would show here.
    page.watch.assert_clean(page)


def test_list_search_updates_results_without_reloading_the_page(browser_page, live_server):
    page = browser_page
    sign_in(page, ROLE_USERS["manager"][0])
    page.goto("/users/")
    rows = page.locator("#list-results tbody tr")
    expect(rows).to_have_count(len(ROLE_USERS))
    page.evaluate("window.__sameDocument = 'still here'")

    with page.expect_response(lambda response: "q=audrey" in response.url) as answer:
        page.fill("#id_q", "audrey")
    assert answer.value.request.headers.get("hx-request") == "true"

    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("auditor")
    expect(page.locator(".result-count")).to_contain_text("1 result")
    assert page.evaluate("window.__sameDocument") == "still here"
    # The search is in the address bar, so a reload or a shared link shows the same list.
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/users/\?(.*&)?q=audrey"))
    screenshot(page, "manager-users-search")
    page.watch.assert_clean(page)


def test_invalid_form_shows_errors_beside_the_fields(browser_page, live_server):
    page = browser_page
    sign_in(page, ROLE_USERS["manager"][0])
    page.goto("/locations/new/")
    page.evaluate("window.__sameDocument = 'still here'")
    page.fill("#id_code", "north")

    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        page.get_by_role("button", name="Save").click()
    assert answer.value.status == 422

    name_field = page.locator(".form-field", has=page.locator("#id_name"))
    expect(name_field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(name_field.get_by_role("alert")).to_contain_text("This field is required")
    expect(page.locator("#id_code")).to_have_value("north")
    assert page.evaluate("window.__sameDocument") == "still here"
    # The browser itself logs every 4xx response; that one line is expected here.
    page.watch.console_errors = [
        error for error in page.watch.console_errors if "status of 422" not in error
    ]
    page.watch.assert_clean(page)
