"""Unique emails: the domain is normalized, the local part is kept as sent (every backend).

``EmailStr`` stores email-validator's ``normalized`` form: the domain lowercased (and IDNA /
Unicode-normalized), surrounding spaces dropped. So ``ann@EXAMPLE.com`` and ``ann@example.com``
are one address (409), while ``ANN@example.com`` is another: RFC 5321 leaves the local part's
case to the receiving server, and email-validator does not fold it. The values reach the
database already normalized, so every backend's unique index agrees.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conformance.support import created, created_row, listing, problem, uid, user_body


def test_domain_is_stored_lowercased(client: TestClient) -> None:
    p = uid()
    row = created_row(client.post("/users", json=user_body(p, email=f" {p}@Example.COM ")))
    assert row["email"] == f"{p}@example.com"
    assert client.get(f"/users/{row['id']}").json()["email"] == f"{p}@example.com"
    found = listing(client, "/users", email=f"{p}@example.com", fields="id")
    assert found["items"] == [{"id": row["id"]}]


def test_same_address_with_other_domain_case_is_409(client: TestClient) -> None:
    p = uid()
    created(client.post("/users", json=user_body(p, email=f"{p}@example.com")))
    dup = client.post("/users", json=user_body(f"{p}x", email=f"{p}@EXAMPLE.com"))
    assert problem(dup, 409, "unique-conflict")["field"] == "email"


def test_local_part_case_is_kept_and_distinct(client: TestClient) -> None:
    p = uid()
    lower = created_row(client.post("/users", json=user_body(p, email=f"{p}@example.com")))
    upper = created_row(
        client.post("/users", json=user_body(f"{p}u", email=f"{p.upper()}@example.com"))
    )
    assert upper["email"] == f"{p.upper()}@example.com"
    assert upper["id"] != lower["id"]


def test_updates_normalize_too(client: TestClient) -> None:
    p = uid()
    taken = created_row(client.post("/users", json=user_body(p, email=f"{p}@example.com")))
    row = created_row(client.post("/users", json=user_body(f"{p}b", email=f"{p}b@example.com")))
    url = f"/users/{row['id']}"
    patched = client.patch(url, json={"email": f"{p}c@Example.Com"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["email"] == f"{p}c@example.com"
    replaced = client.put(url, json=user_body(f"{p}b", email=f"{p}d@EXAMPLE.COM"))
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["email"] == f"{p}d@example.com"
    clash = client.patch(url, json={"email": taken["email"].replace("example", "EXAMPLE")})
    assert problem(clash, 409, "unique-conflict")["field"] == "email"
    assert client.get(url).json()["email"] == f"{p}d@example.com"


def test_bulk_create_with_two_spellings_of_one_address_is_409(client: TestClient) -> None:
    p = uid()
    rows = [user_body(p, email=f"{p}@example.com"), user_body(f"{p}b", email=f"{p}@Example.com")]
    assert problem(client.post("/users", json=rows), 409, "unique-conflict")["field"] == "email"
    assert listing(client, "/users", username__startswith=p)["items"] == []
