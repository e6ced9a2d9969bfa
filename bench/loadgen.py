"""A small load generator on loopback: logged-in HTTP sessions (stdlib http.client, keep-alive,
cookies by hand) and ``hammer``, N threads each requesting one page, as fast as it answers or
once every ``interval`` seconds (a screen that refreshes)."""

import http.client
import re
import threading
import time
from urllib.parse import urlencode

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Session:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection(host, port, timeout=60)

    def request(self, method: str, path: str, body: str | None = None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                content = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, content

    def get(self, path: str, expect: int | None = None) -> bytes:
        status, content = self.request("GET", path)
        if expect is not None and status != expect:
            raise RuntimeError(f"GET {path}: HTTP {status}")
        return content

    def login(self, username: str, password: str) -> None:
        page = self.get("/accounts/login/", expect=200).decode()
        token = TOKEN.search(page).group(1)
        status, _ = self.request(
            "POST",
            "/accounts/login/",
            body=urlencode(
                {"username": username, "password": password, "csrfmiddlewaretoken": token}
            ),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://{self.host}:{self.port}/accounts/login/",
            },
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"Signing in as {username} failed (HTTP {status}).")


def hammer(
    host: str, port: int, path: str, *, clients: int, seconds: float, username: str,
    password: str, interval: float = 0.0,
) -> dict:  # fmt: skip
    """``clients`` signed-in sessions request ``path`` for ``seconds``: back to back, or each
    once every ``interval`` seconds (starting spread over the first interval; a client whose
    answer took longer asks again at once)."""
    sessions = []
    for _ in range(clients):
        session = Session(host, port)
        session.login(username, password)
        sessions.append(session)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Event()
    deadline = [0.0]

    def work(session: Session, offset: float) -> None:
        start.wait()
        mine, failed = [], 0
        due = time.perf_counter() + offset
        while time.perf_counter() < deadline[0]:
            time.sleep(max(0.0, due - time.perf_counter()))
            due += interval
            began = time.perf_counter()
            try:
                status, _ = session.request("GET", path)
            except OSError:
                status = 0
            mine.append(time.perf_counter() - began)
            failed += status != 200
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [
        threading.Thread(target=work, args=(session, interval * number / clients))
        for number, session in enumerate(sessions)
    ]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "latencies": latencies,
        "errors": errors[0],
    }
