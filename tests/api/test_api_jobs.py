"""Jobs, assets, usage and auth: history, SSE events, cancel, ETags, isolation, tokens."""

from __future__ import annotations

import json
from pathlib import Path

from api_kit import PREFIX, STUB_MODEL, Api, b64, make_settings, png_bytes, running_api
from sqlalchemy import select

from editstudio.core.errors import ConfigurationError
from editstudio.db.models import ApiToken

STUB_EDIT = {"operation": "general_edit", "prompt": "make it pop", "model": STUB_MODEL}


async def _submit(api: Api, client: object = None, **extra: object) -> dict[str, object]:
    http = client or api.client
    response = await http.post(  # type: ignore[attr-defined]
        f"{PREFIX}/edit", params={"wait": 30}, json={**STUB_EDIT, "image_base64": b64(png_bytes()), **extra}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_sse_events_arrive_in_order_and_end_in_succeeded_with_cost(api: Api) -> None:
    job = await _submit(api)
    events: list[tuple[str, dict[str, object]]] = []
    async with api.client.stream("GET", f"{PREFIX}/jobs/{job['id']}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))
    kinds = [k for k, _ in events]
    assert kinds[0] == "queued" and kinds[-1] == "succeeded"
    assert kinds.index("started") < kinds.index("succeeded")
    assert [e["seq"] for _, e in events] == sorted(e["seq"] for _, e in events)
    assert "0.02" in json.dumps(events[-1][1]["data"])


async def test_sse_resumes_after_last_event_id(api: Api) -> None:
    job = await _submit(api)
    async with api.client.stream(
        "GET", f"{PREFIX}/jobs/{job['id']}/events", headers={"Last-Event-ID": "1"}
    ) as response:
        ids = [
            int(line[4:]) for line in [ln async for ln in response.aiter_lines()] if line.startswith("id: ")
        ]
    assert ids and min(ids) == 2


async def test_history_filters_and_pages(api: Api) -> None:
    await _submit(api)
    await _submit(api)
    await api.client.post(
        f"{PREFIX}/edit",
        params={"wait": 30},
        json={"operation": "adjust", "brightness": 1.2, "image_base64": b64(png_bytes())},
    )
    everything = (await api.client.get(f"{PREFIX}/jobs")).json()
    assert everything["count"] == 3
    only_adjust = (await api.client.get(f"{PREFIX}/jobs", params={"operation": "adjust"})).json()
    assert [j["operation"] for j in only_adjust["data"]] == ["adjust"]
    by_model = (
        await api.client.get(f"{PREFIX}/jobs", params={"model": STUB_MODEL, "status": "succeeded"})
    ).json()
    assert by_model["count"] == 2
    page = (await api.client.get(f"{PREFIX}/jobs", params={"limit": 1, "offset": 1})).json()
    assert len(page["data"]) == 1 and page["count"] == 3
    future = (await api.client.get(f"{PREFIX}/jobs", params={"created_after": "2999-01-01T00:00:00Z"})).json()
    assert future["count"] == 0


async def test_cancel_a_queued_job_then_conflict(tmp_path: Path) -> None:
    async with running_api(make_settings(tmp_path)) as api:
        await api.context.jobs.stop()  # no workers: the job stays queued until cancelled
        response = await api.client.post(
            f"{PREFIX}/edit", json={**STUB_EDIT, "image_base64": b64(png_bytes())}
        )
        assert response.status_code == 202
        job_id = response.json()["id"]
        cancelled = await api.client.post(f"{PREFIX}/jobs/{job_id}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        again = await api.client.post(f"{PREFIX}/jobs/{job_id}/cancel")
        assert again.status_code == 409 and again.json()["code"] == "job_conflict"
        usage = (await api.client.get(f"{PREFIX}/usage")).json()
        assert usage["reserved_usd"] in ("0", "0.000000") and usage["edits_used"] == 0


async def test_asset_etag_and_304(api: Api) -> None:
    data = png_bytes(20, 10)
    created = await api.client.post(f"{PREFIX}/assets", files={"file": ("x.png", data, "image/png")})
    assert created.status_code == 201
    asset = created.json()
    assert (asset["width"], asset["height"], asset["mime_type"]) == (20, 10, "image/png")
    first = await api.client.get(asset["url"])
    assert first.content == data and first.headers["content-type"] == "image/png"
    assert first.headers["etag"] == f'"{asset["id"]}"' and "immutable" in first.headers["cache-control"]
    cached = await api.client.get(asset["url"], headers={"If-None-Match": first.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""
    stale = await api.client.get(asset["url"], headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200


async def test_asset_upload_rejects_non_images(api: Api) -> None:
    response = await api.client.post(f"{PREFIX}/assets", files={"file": ("x.txt", b"hello", "text/plain")})
    assert response.status_code == 400 and response.json()["code"] == "image_rejected"


async def test_usage_counts_spend_by_model(api: Api) -> None:
    await _submit(api)
    usage = (await api.client.get(f"{PREFIX}/usage")).json()
    assert usage["edits_used"] == 1
    assert [m["model"] for m in usage["by_model"]] == [STUB_MODEL]
    assert usage["by_model"][0]["spend_usd"].rstrip("0") == "0.02"


async def test_multi_user_isolation_and_tokens(api: Api) -> None:
    alice_id, alice = await api.new_user("alice")
    _bob_id, bob = await api.new_user("bob")
    async with alice, bob:
        job = await _submit(api, alice)
        asset = (
            await alice.post(f"{PREFIX}/assets", files={"file": ("a.png", png_bytes(9, 9), "image/png")})
        ).json()
        assert (await bob.get(f"{PREFIX}/jobs/{job['id']}")).status_code == 404
        assert (await bob.post(f"{PREFIX}/jobs/{job['id']}/cancel")).status_code == 404
        assert (await bob.get(f"{PREFIX}/jobs/{job['id']}/events")).status_code == 404
        assert (await bob.get(f"{PREFIX}/assets/{asset['id']}")).status_code == 404
        assert (await bob.get(f"{PREFIX}/assets/{job['output_asset_id']}")).status_code == 404
        assert (await bob.get(f"{PREFIX}/jobs")).json()["count"] == 0
        assert (await alice.get(f"{PREFIX}/jobs/{job['id']}")).status_code == 200
        token = alice.headers["authorization"].removeprefix("Bearer ")
    # With users configured, no token is 401, and a wrong one never echoes what was sent.
    anonymous = await api.client.get(f"{PREFIX}/jobs")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"
    wrong = await api.client.get(
        f"{PREFIX}/jobs", headers={"Authorization": "Bearer es_not-a-real-token-123"}
    )
    assert wrong.status_code == 401 and "es_not-a-real-token-123" not in wrong.text
    async with api.context.sessions() as session:
        stored = (await session.scalars(select(ApiToken).where(ApiToken.user_id == alice_id))).all()
    assert stored and all(token not in (row.token_hash, row.prefix) for row in stored)


async def test_non_loopback_bind_refuses_without_users(tmp_path: Path) -> None:
    try:
        async with running_api(make_settings(tmp_path), host="0.0.0.0"):
            raise AssertionError("the app started without users on a public bind")
    except ConfigurationError as exc:
        assert "editstudio users create" in exc.message


async def test_non_loopback_bind_requires_a_token(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with running_api(settings) as local:
        await local.new_user("carol")
    async with running_api(settings, host="0.0.0.0") as public:
        response = await public.client.get(f"{PREFIX}/usage")
        assert response.status_code == 401
