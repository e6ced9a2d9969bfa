"""Browser tests: Playwright drives the machine's own Chromium against the live server.

No browser is downloaded. Without a Chromium the tests skip with a notice, except under
CI=true, where a missing browser is a failure: CI must prove the pages work in a browser.
"""

import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection

from practicedesk.demo.foundation import ROLE_USERS, build_foundation
from practicedesk.demo.sizes import SIZES

# Playwright's sync API keeps an event loop running in the main thread; Django would
# otherwise refuse every ORM call made by the tests while the browser is open.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}

# Collects what a page reports about itself: Content-Security-Policy violations are
# recorded from the document's own event, so none goes unnoticed even without a console.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


def chromium_executable() -> tuple[str | None, list[str]]:
    """The first Chromium that exists, and every place that was looked at."""
    candidates = [
        os.environ.get("PLAYWRIGHT_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
    ]
    tried = [path for path in candidates if path]
    for path in tried:
        if Path(path).is_file() and os.access(path, os.X_OK):
            return path, tried
    return None, tried


def no_browser(request, reason: str):
    """Skip with a notice people see, or fail under CI where the browser pass is required."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true requires the browser tests: {reason}", pytrace=False)
    notice = f"NOTICE: browser tests skipped: {reason}"
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(notice, yellow=True)
    pytest.skip(notice)


@pytest.fixture(scope="session")
def chromium(request):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        no_browser(request, "the playwright package is not installed (pip install -e '.[dev]')")
    executable, tried = chromium_executable()
    if executable is None:
        no_browser(
            request,
            "no Chromium found (looked at PLAYWRIGHT_CHROMIUM, /usr/bin/chromium and PATH: "
            f"{', '.join(tried) or 'nothing set'}); install it with `apt-get install chromium`",
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _one_request_at_a_time_on_in_memory_sqlite(monkeypatch, transactional_db):
    """On SQLite the live server's threads share the test's one in-memory connection, which
    cannot serve two requests at once ("table is locked"); a page that loads several charts
    side by side would fail for the test's sake, not the app's. There, requests take turns.
    PostgreSQL gives each thread its own connection and runs them side by side."""
    if connection.vendor != "sqlite":
        return
    lock = threading.Lock()
    handle = WSGIHandler.__call__

    def in_turn(self, environ, start_response):
        with lock:
            return handle(self, environ, start_response)

    monkeypatch.setattr(WSGIHandler, "__call__", in_turn)


@pytest.fixture
def demo_practice(transactional_db):
    """The small demo practice: one organization, one location, one user per role."""
    build_foundation(SIZES["small"])
    return ROLE_USERS


@dataclass
class PageWatch:
    """What a page did that a user would not see: errors, refused loads, outside requests."""

    base_url: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    request_urls: list[str] = field(default_factory=list)

    def outside_requests(self) -> list[str]:
        return [url for url in self.request_urls if not url.startswith(self.base_url)]

    def assert_clean(self, page) -> None:
        violations = page.evaluate("window.__cspViolations || []")
        assert violations == [], f"Content-Security-Policy violations: {violations}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        assert self.failed_requests == [], f"failed requests: {self.failed_requests}"
        assert self.outside_requests() == [], (
            f"the page called a third-party host: {self.outside_requests()}"
        )


def open_page(chromium, live_server, viewport):
    context = chromium.new_context(viewport=viewport, base_url=live_server.url)
    context.set_default_timeout(10_000)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    watch = PageWatch(base_url=live_server.url)
    page.on(
        "console",
        lambda message: message.type == "error" and watch.console_errors.append(message.text),
    )
    page.on("pageerror", lambda error: watch.console_errors.append(str(error)))
    page.on("requestfailed", lambda req: record_failure(watch, req))
    page.on("request", lambda req: watch.request_urls.append(req.url))
    return context, page, watch


def record_failure(watch, request) -> None:
    """A request the page itself cancelled (ERR_ABORTED: the favicon or a poll cut short by a
    navigation or an htmx swap) is not a failure of the app; everything else is."""
    if "ERR_ABORTED" in (request.failure or ""):
        return
    watch.failed_requests.append(f"{request.url} ({request.failure})")


@pytest.fixture
def browser_page(chromium, live_server, demo_practice):
    """A fresh desktop-sized page (its own context: no cookies shared between tests)."""
    context, page, watch = open_page(chromium, live_server, DESKTOP)
    page.watch = watch
    yield page
    context.close()


@pytest.fixture
def tablet_page(chromium, live_server, demo_practice):
    context, page, watch = open_page(chromium, live_server, TABLET)
    page.watch = watch
    yield page
    context.close()


def sign_in(page, username: str, password: str | None = None) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password if password is not None else settings.DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
