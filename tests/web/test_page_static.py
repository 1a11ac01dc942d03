"""The phone page's files as the daemon serves them: no token, revalidation with ETag, gzip, no path escapes,
a strict Content-Security-Policy, and the whole page under its 300 KB budget."""

import gzip
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_rig import WebRig

from groovebox.web.routes_page import CONTENT_SECURITY_POLICY, STATIC_DIR, PageFiles, router

PAGE_BUDGET_BYTES = 300_000


@pytest.fixture
def folder(tmp_path):
    static = tmp_path / "static"
    (static / "js").mkdir(parents=True)
    (static / "index.html").write_text("<!doctype html><title>page</title>" + "x" * 2000)
    (static / "js" / "main.js").write_text("export const answer = 42;\n" * 100)
    (static / "icon.png").write_bytes(b"\x89PNG fake")
    (static / ".hidden.js").write_text("SECRET-CONTENT")
    (static / "notes.txt").write_text("not served")
    (tmp_path / "outside.js").write_text("OUTSIDE-CONTENT")
    return static


@pytest.fixture
def client(folder):
    app = FastAPI()
    app.include_router(router(PageFiles(folder)))
    with TestClient(app) as test_client:
        yield test_client


def test_the_shell_is_served_with_its_security_headers(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.text.startswith("<!doctype html>")


def test_a_known_etag_gets_304_and_a_changed_file_a_new_etag(client, folder):
    first = client.get("/static/js/main.js")
    assert first.headers["content-type"] == "text/javascript; charset=utf-8"
    etag = first.headers["etag"]
    again = client.get("/static/js/main.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    (folder / "js" / "main.js").write_text("export const answer = 43;\n")
    changed = client.get("/static/js/main.js", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert "43" in changed.text


def test_text_is_gzipped_for_clients_that_take_it(client):
    zipped = client.get("/static/js/main.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert int(zipped.headers["content-length"]) < 200          # 2.6 KB of repeated lines
    plain = client.get("/static/js/main.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text == "export const answer = 42;\n" * 100
    refused = client.get("/static/js/main.js", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers


def test_binary_files_are_not_gzipped(client):
    response = client.get("/static/icon.png", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-type"] == "image/png"
    assert "content-encoding" not in response.headers


@pytest.mark.parametrize("path", ["/static/.hidden.js", "/static/notes.txt", "/static/../outside.js",
                                  "/static/%2e%2e/outside.js", "/static/js/../../outside.js", "/static/js//main.js",
                                  "/static/missing.js", "/static/js"])
def test_only_page_files_are_served(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "OUTSIDE-CONTENT" not in response.text and "SECRET-CONTENT" not in response.text


def test_the_daemon_serves_the_page_without_a_token_and_keeps_it_out_of_the_api_document(tmp_path):
    with WebRig(tmp_path, loops=0) as rig:
        page = rig.anonymous.get("/")
        assert page.status_code == 200
        assert '<script type="module" src="/static/js/main.js">' in page.text
        assert rig.anonymous.get("/static/js/main.js").status_code == 200
        assert rig.anonymous.get("/api/tokens").status_code == 401
        paths = rig.client.get("/openapi.json").json()["paths"]
        assert "/" not in paths and not any(path.startswith("/static") for path in paths)


_IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"([^"]+)";', re.M)
_EXPORT = re.compile(r'^export\s+(?:async\s+)?(?:function|const|let|class)\s+([\w$]+)|^export\s*\{([^}]*)\}', re.M)


def _exported_names(script) -> set[str]:
    names = set()
    for declared, listed in _EXPORT.findall(script.read_text()):
        names.add(declared) if declared else names.update(
            part.split(" as ")[-1].strip() for part in listed.split(",") if part.strip())
    return names


def test_every_name_a_page_module_imports_is_exported_by_its_module():
    shell = (STATIC_DIR / "index.html").read_text()
    assert 'src="/static/js/main.js"' in shell
    scripts = list((STATIC_DIR / "js").glob("*.js"))
    assert len(scripts) > 5
    for script in scripts:
        for names, target in _IMPORT.findall(script.read_text()):
            module = script.parent / target
            assert target.startswith("./") and module.is_file(), f"{script.name} imports {target}"
            wanted = {name.split(" as ")[0].strip() for name in names.split(",") if name.strip()}
            missing = wanted - _exported_names(module)
            assert not missing, f"{script.name} imports {sorted(missing)} that {target} does not export"


def test_the_whole_page_stays_under_its_budget():
    files = PageFiles()
    transferred = files.total_bytes(gzipped=True)
    assert transferred <= PAGE_BUDGET_BYTES
    raw = sum(len(files.get(path.relative_to(STATIC_DIR).as_posix()).body)
              for path in STATIC_DIR.rglob("*") if path.is_file())
    assert transferred < raw
    assert gzip.decompress(files.get("style.css").gzipped) == files.get("style.css").body
