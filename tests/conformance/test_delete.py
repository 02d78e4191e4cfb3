"""DELETE /R/{id}: 204, then gone; If-Match; references (CONTRACT §3, §5)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conformance.support import MISSING_ID, make_item, make_post, make_user, problem, uid


def test_delete(client: TestClient) -> None:
    row = make_item(client, uid())
    url = f"/items/{row['id']}"
    response = client.delete(url)
    assert response.status_code == 204
    assert response.content == b""
    problem(client.get(url), 404, "not-found")
    problem(client.delete(url), 404, "not-found")
    problem(client.patch(url, json={"price": 1}), 404, "not-found")


def test_delete_missing(client: TestClient) -> None:
    problem(client.delete(f"/items/{MISSING_ID}"), 404, "not-found")


def test_delete_if_match(client: TestClient) -> None:
    row = make_item(client, uid())
    url = f"/items/{row['id']}"
    client.patch(url, json={"price": 2})
    problem(client.delete(url, headers={"if-match": '"1"'}), 412, "precondition-failed")
    assert client.get(url).status_code == 200
    assert client.delete(url, headers={"if-match": '"2"'}).status_code == 204
    problem(client.get(url), 404, "not-found")


def test_delete_if_match_star(client: TestClient) -> None:
    row = make_item(client, uid())
    url = f"/items/{row['id']}"
    assert client.delete(url, headers={"if-match": "*"}).status_code == 204
    problem(client.get(url), 404, "not-found")


def test_delete_referenced_user(client: TestClient) -> None:
    user = make_user(client, uid())
    post = make_post(client, user["id"], uid())
    url = f"/users/{user['id']}"
    body = problem(client.delete(url), 409, "reference-conflict")
    assert body["field"] == "owner_id"
    assert client.get(url).json() == user
    assert client.get(f"/posts/{post['id']}").json() == post
    assert client.delete(f"/posts/{post['id']}").status_code == 204
    assert client.delete(url).status_code == 204
    problem(client.get(url), 404, "not-found")
