"""Finance exports over HTTP: ask, watch, download through the signed link; only the asker, never expired."""

import hashlib
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from app.finance.exports.datasets import DATASETS, header
from app.finance.postings import post_order_paid
from app.platform.models import OutboxEvent
from app.tenancy.enums import Role
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, add_user, login, make_tenant
from tests.support.payments import make_order
from tests.support.scope import use_scope


@pytest.fixture
def net(session):
    net = make_tenant(session)
    for seller, total in (("jingan", 1_250), ("chengdu", 990)):
        buyer = add_consumer(session, net, seller)
        order = make_order(session, net, seller=seller, consumer=buyer, total=total)
        use_scope(session, system_scope(net.tenant.id))
        post_order_paid(session, order=order, amount_minor=total, method="offline")
    return net


def period() -> dict:
    now = datetime.now(UTC)
    return {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}


def ask(client, headers, dataset="journal_lines", **extra):
    body = {"dataset": dataset, **period(), **extra}
    response = client.post("/finance/exports", headers=headers, json=body)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def test_the_asker_watches_the_job_finish_and_downloads_the_file_with_its_checksum_audited(
        client, session, net, export_dir):
    headers = login(client, net, "brand")
    job = ask(client, headers)
    done = client.get(f"/finance/exports/{job['id']}", headers=headers).get_json()
    assert done["status"] == "done" and done["rows_done"] == done["rows_total"] == 4
    download = client.get(done["download_url"], headers=headers)
    assert download.status_code == 200, download.get_json()
    assert download.mimetype == "text/csv"
    digest = hashlib.sha256(download.data).hexdigest()
    assert digest == done["sha256"] == download.headers["X-Checksum-SHA256"]
    assert len(download.data) == done["size_bytes"]
    assert download.data.decode("utf-8-sig").splitlines()[0].startswith("line_id,entry_id,created_at")
    use_scope(session, system_scope(net.tenant.id))
    audited = session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == net.tenant.id,
                                                        OutboxEvent.type == "export.downloaded")).all()
    assert [event.subject_id for event in audited] == [__import__("uuid").UUID(job["id"])]
    assert audited[0].payload["sha256"] == done["sha256"]


def test_an_xlsx_export_downloads_as_a_workbook(client, session, net, export_dir):
    headers = login(client, net, "brand")
    job = ask(client, headers, dataset="trial_balance", format="xlsx")
    done = client.get(f"/finance/exports/{job['id']}", headers=headers).get_json()
    download = client.get(done["download_url"], headers=headers)
    assert download.status_code == 200 and download.data[:2] == b"PK"
    assert download.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(download.data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == header(DATASETS["trial_balance"]) and len(rows) - 1 == done["rows_done"] > 0
    assert all(isinstance(row[rows[0].index("closing")], int | float) for row in rows[1:])  # a number


def test_a_download_by_another_scope_answers_404_even_with_the_link(client, session, net, export_dir):
    headers = login(client, net, "brand")
    done = client.get(f"/finance/exports/{ask(client, headers)['id']}", headers=headers).get_json()
    colleague = add_user(session, net, "brand", Role.finance)
    net.users["brand-finance"] = colleague
    net.orgs["brand-finance"] = net.org("brand")
    other_headers = login(client, net, "brand-finance")
    for intruder in (other_headers, login(client, net, "west")):
        assert client.get(f"/finance/exports/{done['id']}", headers=intruder).status_code == 404
        refused = client.get(done["download_url"], headers=intruder)
        assert refused.status_code == 404 and refused.get_json()["code"] == "not_found"
    assert client.get(done["download_url"]).status_code == 401  # the link alone is not enough


def test_an_expired_link_is_refused_and_a_fresh_one_works(client, session, net, export_dir, app, monkeypatch):
    headers = login(client, net, "brand")
    job = ask(client, headers)
    url = client.get(f"/finance/exports/{job['id']}", headers=headers).get_json()["download_url"]
    monkeypatch.setitem(app.config, "EXPORT_LINK_SECONDS", -1)
    expired = client.get(url, headers=headers)
    assert expired.status_code == 410 and expired.get_json()["code"] == "export_link_expired"
    monkeypatch.setitem(app.config, "EXPORT_LINK_SECONDS", 900)
    assert client.get(url, headers=headers).status_code == 200


def test_a_tampered_link_is_404_and_an_unknown_query_parameter_is_422(client, session, net, export_dir):
    headers = login(client, net, "brand")
    job = ask(client, headers)
    url = client.get(f"/finance/exports/{job['id']}", headers=headers).get_json()["download_url"]
    assert client.get(url[:-3] + "abc", headers=headers).status_code == 404
    assert client.get(url + "&as=brand", headers=headers).status_code == 422
    assert client.get("/finance/exports?limit=5&offset=3", headers=headers).status_code == 422


def test_an_expired_file_is_gone(client, session, net, export_dir):
    headers = login(client, net, "brand")
    job = ask(client, headers)
    url = client.get(f"/finance/exports/{job['id']}", headers=headers).get_json()["download_url"]
    for file in export_dir.rglob("*.csv"):
        file.unlink()
    gone = client.get(url, headers=headers)
    assert gone.status_code == 410 and gone.get_json()["code"] == "export_expired"


def test_bad_requests_are_refused_with_their_codes(client, session, net, export_dir):
    headers = login(client, net, "brand")
    now = datetime.now(UTC).isoformat()
    backwards = client.post("/finance/exports", headers=headers,
                            json={"dataset": "orders", "from": now, "to": now})
    assert backwards.status_code == 422 and backwards.get_json()["code"] == "invalid_period"
    unknown = client.post("/finance/exports", headers=headers, json={"dataset": "gossip", **period()})
    assert unknown.status_code == 422
    naive = client.post("/finance/exports", headers=headers,
                        json={"dataset": "orders", "from": "2026-01-01T00:00:00",
                              "to": "2026-02-01T00:00:00"})
    assert naive.status_code == 422
    elsewhere = client.post("/finance/exports", headers=login(client, net, "east"),
                            json={"dataset": "orders", **period(), "org_id": str(net.org("chengdu").id)})
    assert elsewhere.status_code == 404


def test_my_jobs_list_shows_only_mine(client, session, net, export_dir):
    brand, west = login(client, net, "brand"), login(client, net, "west")
    mine = ask(client, brand)
    ask(client, west, dataset="orders")
    second = ask(client, brand, dataset="payments")
    first_page = client.get("/finance/exports?limit=1", headers=brand).get_json()
    assert [job["id"] for job in first_page["items"]] == [second["id"]] and first_page["has_more"]
    after = first_page["next_cursor"]
    rest = client.get(f"/finance/exports?limit=1&cursor={after}", headers=brand).get_json()
    assert [job["id"] for job in rest["items"]] == [mine["id"]] and not rest["has_more"]
    datasets = client.get("/finance/exports/datasets", headers=brand).get_json()
    journal = next(d for d in datasets if d["name"] == "journal_lines")
    assert [c["name"] for c in journal["columns"]][-6:] == ["amount_minor", "amount", "debit_minor", "debit",
                                                            "credit_minor", "credit"]
