"""Lists page by cursor over HTTP: every row once, newest first; offsets and altered cursors are 422."""

from tests.api.test_orders_api import body, shop  # noqa: F401  (the fixture)
from tests.factories import add_consumer, login, make_tenant


def walk(client, url, headers, limit):
    """Every page of a list, following next_cursor; the ids in the order served."""
    seen, cursor = [], None
    for _ in range(50):
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, headers=headers, query_string=query)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        assert len(page["items"]) <= limit
        seen += [row["id"] for row in page["items"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return seen
        cursor = page["next_cursor"]
    raise AssertionError("the pages never ended")


def test_walking_the_pages_of_consumers_visits_each_once_newest_first(client, session):
    net = make_tenant(session)
    made = [add_consumer(session, net, "jingan", name=f"会员{n}", phone=f"1390000{n:04d}").id
            for n in range(7)]
    session.commit()
    brand = login(client, net, "brand")
    everyone = walk(client, "/network/consumers", brand, limit=50)
    assert set(map(str, made)) <= set(everyone)
    assert walk(client, "/network/consumers", brand, limit=2) == everyone  # pages join up exactly
    assert walk(client, "/network/consumers", brand, limit=3) == everyone


def test_orders_page_by_cursor_and_refuse_offsets_and_altered_cursors(client, shop):  # noqa: F811
    net, catalog, alice, _ = shop
    placed = [client.post("/storefront/orders", headers=alice, json=body(catalog, 1)).get_json()["id"]
              for _ in range(3)]
    assert walk(client, "/storefront/orders", alice, limit=2) == placed[::-1]
    cursor = client.get("/storefront/orders?limit=1", headers=alice).get_json()["next_cursor"]
    altered = cursor[:-1] + ("B" if cursor[-1] == "A" else "A")
    for query in ({"offset": 1}, {"page": 2}, {"cursor": altered},
                  {"cursor": "not-a-cursor"}, {"limit": 201}):
        response = client.get("/storefront/orders", headers=alice, query_string=query)
        assert response.status_code == 422, (query, response.get_json())
        assert set(response.get_json()["errors"]) == set(query)
