"""Media over HTTP: a manager uploads, a reviewer sees the file by a signed URL minted for
them, a labeler only while holding a task on the item, and links expire."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from modops.media.pipeline import process_media
from modops.store import session_scope
from modops.store.models import Item
from modops.store.models_media import MediaObject
from tests.api.conftest import app_client, token_for, world  # noqa: F401  (shared fixtures)
from tests.api.world import World
from tests.media.media_files import encode, picture


def test_upload_then_signed_urls_for_who_may_see_the_item(
        app_client: TestClient, token_for, world: World) -> None:  # noqa: F811
    data = encode(picture(9), "JPEG")
    r = app_client.post("/api/v1/projects/kr-web/items/c-1/media", headers=token_for("manager"),
                        files={"file": ("meme.jpg", data, "image/jpeg")})
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "pending"
    r = app_client.post("/api/v1/projects/kr-web/items/c-1/media", headers=token_for("lab1"),
                        files={"file": ("meme.jpg", data, "image/jpeg")})
    assert r.status_code == 403
    with session_scope(world.engine) as s:
        media_id = s.scalar(select(MediaObject.id))
        item_id = s.scalar(select(Item.id).where(Item.external_id == "c-1"))
    process_media(world.engine, media_id)

    view = app_client.get(f"/api/v1/items/{item_id}/media", headers=token_for("reviewer"))
    assert view.status_code == 200, view.text
    f = view.json()["files"][0]
    assert (f["state"], f["kind"], f["mime"]) == ("ready", "image", "image/jpeg")
    got = app_client.get(f["url"], headers=token_for("reviewer"))
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "image/jpeg"
    # the same link opens for nobody else, and not without signing in
    assert app_client.get(f["url"], headers=token_for("manager")).status_code == 404
    assert app_client.get(f["url"]).status_code == 401
    # a labeler sees an item's media only while a task on it is theirs
    assert app_client.get(f"/api/v1/items/{item_id}/media",
                          headers=token_for("lab1")).status_code == 404
    # a tampered link is no link
    sha, item, uid, exp, mac = f["url"].rsplit("/", 1)[1].split(".")
    forged = f"/api/v1/media/{sha}.{item}.{uid}.{int(exp) + 3600}.{mac}"
    assert app_client.get(forged, headers=token_for("reviewer")).status_code == 404
    # and links expire: one signed with the app's key (tests.api's "test-secret") that ran out
    from modops.media.access import sign

    old = "/api/v1/media/" + sign("test-secret", sha, item_id, int(uid), -1)
    assert app_client.get(old, headers=token_for("reviewer")).status_code == 404
    fresh = "/api/v1/media/" + sign("test-secret", sha, item_id, int(uid), 60)
    assert app_client.get(fresh, headers=token_for("reviewer")).status_code == 200


def test_a_labeler_holding_the_task_sees_the_media(
        app_client: TestClient, token_for, world: World) -> None:  # noqa: F811
    h = token_for("lab1")
    task = app_client.post("/api/v1/projects/kr-web/tasks/next", headers=h).json()
    ext = task["item"]["external_id"]
    r = app_client.post(f"/api/v1/projects/kr-web/items/{ext}/media",
                        headers=token_for("manager"),
                        files={"file": ("a.png", encode(picture(8)), "image/png")})
    assert r.status_code == 201, r.text
    process_media(world.engine, r.json()["media_id"])
    view = app_client.get(f"/api/v1/items/{r.json()['item_id']}/media", headers=h)
    assert view.status_code == 200 and view.json()["matches"] == []  # no evidence for labelers
    assert app_client.get(view.json()["files"][0]["url"], headers=h).status_code == 200
