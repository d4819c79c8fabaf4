"""Security headers on every page: every GET route of the app, signed in or not, sends
nosniff, frame denial, a referrer policy and (on HTML) a strict Content-Security-Policy; and
no shipped page loads anything that policy blocks.

Everything runs on real sockets on 127.0.0.1 (other loopback addresses stand for other
clients). Each test failed on the code before the fix (issue 15)."""

from __future__ import annotations

import html.parser
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.security.web_app import PW, run
from tests.web_helpers import sign_in

STATIC = Path(__file__).resolve().parents[2] / "ivr" / "web" / "static"


def _get_paths(app: web.Application) -> list[str]:
    """One concrete path for every GET route of `app`."""
    values = {"call_id": "c-li", "name": "live.js"}
    paths = []
    for res in app.router.resources():
        if not any(r.method == "GET" for r in res):
            continue
        if isinstance(res, web.StaticResource):
            directory = Path(res.get_info()["directory"])
            first = sorted(p.name for p in directory.iterdir() if p.is_file())[0]
            paths.append(str(res.url_for(filename=first)))
        else:
            info = res.get_info()
            names = [n for n in values if "{" + n + "}" in info.get("formatter", "")]
            paths.append(str(res.url_for(**{n: values[n] for n in names})))
    return paths


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_get_route_sends_the_security_headers(web_store):
    async def body(client: TestClient) -> list[tuple[str, int, str, dict[str, str]]]:
        paths = [*_get_paths(client.server.app), "/no/such/page"]
        assert {"/dash/calls", "/dash/calls/c-li", "/dash/metrics", "/desk",
                "/login"} <= set(paths)
        seen = []
        for signed_in in (False, True):
            if signed_in:
                await sign_in(client, "ada", PW)
            for path in paths:
                async with client.get(path, allow_redirects=False) as resp:
                    seen.append((path, resp.status, resp.content_type, dict(resp.headers)))
        return seen
    for path, status, ctype, headers in run(web_store, body):
        where = f"{path} ({status})"
        assert headers.get("X-Content-Type-Options") == "nosniff", where
        assert headers.get("X-Frame-Options") == "DENY", where
        assert headers.get("Referrer-Policy") in ("no-referrer", "same-origin"), where
        if ctype == "text/html":
            csp = headers.get("Content-Security-Policy", "")
            assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, where
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where


@pytest.mark.parametrize("page", sorted(p.name for p in STATIC.glob("*.html")))
def test_pages_load_nothing_the_csp_blocks(page):
    """No inline script, style element, style attribute or event handler, and every
    script, style sheet and image from this site (or a data: icon)."""
    class Check(html.parser.HTMLParser):
        problems: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found = dict(attrs)
            for name in found:
                if name == "style" or name.startswith("on"):
                    self.problems.append(f"<{tag} {name}=...>")
            if tag == "style" or (tag == "script" and not found.get("src")):
                self.problems.append(f"inline <{tag}>")
            for name in ("src", "href"):
                url = found.get(name) or ""
                if tag in ("script", "link", "img") and url and not (
                        url.startswith("/") and not url.startswith("//")
                        or url.startswith("data:")):
                    self.problems.append(f"<{tag} {name}={url}>")
    checker = Check()
    checker.problems = []
    checker.feed((STATIC / page).read_text(encoding="utf-8"))
    assert checker.problems == []
