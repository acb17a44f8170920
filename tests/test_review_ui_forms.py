"""The review screen without a browser (TestClient): login, CSRF on every form, roles, the CSP header, the queue's
filters and failed documents with retry, reject with a reason, the language switch, page images."""

from __future__ import annotations

import re

from service_support import auth, import_master, running_app, upload, wait_read


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _login(client, username: str, password: str):
    page = client.get("/review/login")
    return client.post("/review/login", data={"csrf": _csrf(page.text), "username": username, "password": password})


def _user(client, username: str, role: str) -> None:
    answer = client.post("/api/v1/users", headers=auth(), json={"username": username, "password": "password-" + username,
                                                               "role": role})
    assert answer.status_code in (200, 201), answer.text


def test_login_csrf_roles_and_headers(tmp_path):
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        _user(client, "cleo", "clerk")
        _user(client, "robot", "integration")
        start = client.get("/", follow_redirects=True)
        assert start.url.path == "/review/login" and start.status_code == 200
        policy = start.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert client.get("/review/queue", follow_redirects=False).status_code == 303       # not logged in
        assert client.get("/review/products", params={"q": "LED"}).status_code == 401

        no_token = client.post("/review/login", data={"username": "cleo", "password": "password-cleo"})
        assert no_token.status_code == 403
        wrong = _login(client, "cleo", "nope")
        assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
        machine = _login(client, "robot", "password-robot")
        assert machine.status_code == 401                 # integration accounts use API keys, not the screen

        queue = _login(client, "cleo", "password-cleo")
        assert queue.status_code == 200 and queue.url.path == "/review/queue" and "cleo · clerk" in queue.text
        for html in (queue.text, client.get("/review/stock").text):
            assert not re.search(r"<script(?![^>]*\bsrc=)", html)               # no inline script at all
        token = _csrf(queue.text)
        forged = client.post("/review/lang", data={"lang": "zh", "csrf": "forged"})
        assert forged.status_code == 403
        chinese = client.post("/review/lang", data={"lang": "zh", "csrf": token, "back": "/review/queue"})
        assert "待审队列" in chinese.text
        assert client.post("/review/logout", data={"csrf": token}).url.path == "/review/login"
        assert client.get("/review/queue", follow_redirects=False).status_code == 303


def test_queue_filters_failed_retry_reject_and_pages(tmp_path):
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        import_master(client, kinds=("suppliers", "products"))
        invoice = upload(client, "INV-88213.pdf").json()["id"]
        broken = client.post("/api/v1/documents", headers=auth(),
                             files={"file": ("broken.pdf", b"%PDF-1.4 not really a pdf")}).json()["id"]
        wait_read(client)
        _user(client, "cleo", "clerk")
        queue = _login(client, "cleo", "password-cleo")
        assert "INV-88213" in queue.text and "Brightline Components Ltd." in queue.text
        assert "broken.pdf" in queue.text and "Retry" in queue.text                # failed: reason and retry
        assert "INV-88213" not in client.get("/review/queue", params={"q": "no such thing"}).text
        assert "INV-88213" in client.get("/review/queue", params={"q": "brightline"}).text
        only_failed = client.get("/review/queue", params={"status": "failed"}).text
        assert "broken.pdf" in only_failed and "INV-88213" not in only_failed

        token = _csrf(queue.text)
        assert client.post(f"/review/documents/{broken}/reprocess", data={}).status_code == 403
        retried = client.post(f"/review/documents/{broken}/reprocess", data={"csrf": token})
        assert retried.status_code == 200 and "Reading again" in retried.text
        wait_read(client)
        runs = client.get(f"/api/v1/documents/{broken}", headers=auth()).json()["runs"]
        assert [r["reason"] for r in runs] == ["intake", "reprocess"]

        screen = client.get(f"/review/documents/{invoice}")
        assert screen.status_code == 200 and screen.text.count('class="box"') >= 10
        png = client.get(f"/review/documents/{invoice}/pages/1.png")
        assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
        assert client.get(f"/review/documents/{invoice}/pages/2.png").status_code == 404
        assert client.get("/review/products", params={"q": "EL-LED"}).json()["items"][0]["sku"] == "EL-LED-0805-R"

        assert client.post(f"/review/documents/{invoice}", data={"action": "reject", "reason": "x"}).status_code == 403
        client.post(f"/review/documents/{invoice}", data={"csrf": token, "action": "reject", "reason": "wrong buyer"})
        doc = client.get(f"/api/v1/documents/{invoice}", headers=auth()).json()
        assert doc["status"] == "rejected"
        assert any(c["who"] == "cleo" and c["why"] == "wrong buyer" for c in doc["history"])


def test_an_ofd_page_is_drawn_from_its_boxes(tmp_path):
    """An OFD page is drawn from the file (review_ui.ofd_render): its PhysicalBox in points, the form and the text."""
    import io

    import pytest
    from PIL import Image

    from conftest import REALDOCS
    from extractors.ofd import MM_TO_PT
    from review_ui.pages import RENDER_SCALE
    sample = REALDOCS / "ofdrw_ofd_einvoices" / "ofd_fapiao_shili.ofd"
    if not sample.exists():
        pytest.skip("../shared/realdocs/ofdrw_ofd_einvoices not present")
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        doc_id = client.post("/api/v1/documents", headers=auth(),
                             files={"file": (sample.name, sample.read_bytes(), "application/ofd")}).json()["id"]
        wait_read(client)
        _user(client, "cleo", "clerk")
        _login(client, "cleo", "password-cleo")
        screen = client.get(f"/review/documents/{doc_id}")
        assert screen.status_code == 200 and screen.text.count('class="box"') >= 5
        width, height = (float(re.search(rf'data-{side}="([\d.]+)"', screen.text).group(1)) for side in "wh")
        assert (width, height) == pytest.approx((210 * MM_TO_PT, 140 * MM_TO_PT))        # PhysicalBox 210 x 140 mm
        png = Image.open(io.BytesIO(client.get(f"/review/documents/{doc_id}/pages/1.png").content)).convert("RGB")
        assert png.size == (round(width * RENDER_SCALE), round(height * RENDER_SCALE))
        colours = {colour for _, colour in png.getcolors(maxcolors=1 << 20)}
        assert (156, 82, 35) in colours and (0, 0, 0) in colours        # the template's brown grid, black text
        png.save(tmp_path / "ofd-page.png")


def test_pages_of_a_long_pdf_load_at_once(tmp_path):
    """A 5-page PDF: the browser asks for every page image together; PDFium (not thread-safe) must not crash."""
    import io
    from concurrent.futures import ThreadPoolExecutor

    import pikepdf

    from service_support import DEMO
    out, source = pikepdf.new(), pikepdf.open(io.BytesIO((DEMO / "INV-88213.pdf").read_bytes()))
    for _ in range(5):
        out.pages.extend(source.pages)
    data = io.BytesIO()
    out.save(data)
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        doc_id = upload(client, "five-pages.pdf", data.getvalue()).json()["id"]
        _user(client, "cleo", "clerk")
        _login(client, "cleo", "password-cleo")
        with ThreadPoolExecutor(5) as pool:          # while the pipeline may still be reading it with PDFium too
            answers = list(pool.map(lambda n: client.get(f"/review/documents/{doc_id}/pages/{n}.png"), range(1, 6)))
        assert [a.status_code for a in answers] == [200] * 5 and all(a.content[:4] == b"\x89PNG" for a in answers)
        wait_read(client)
        screen = client.get(f"/review/documents/{doc_id}")
        assert screen.text.count('class="page"') == 5
