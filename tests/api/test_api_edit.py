"""POST /edit in every input form, waiting and polling, idempotency, and refusals that leave no job."""

from __future__ import annotations

import asyncio
import io

from api_kit import PREFIX, STUB_MODEL, Api, b64, mask_png, png_bytes
from PIL import Image

from editstudio.jobs import JobFilter


async def _job_count(api: Api, user_id: str) -> int:
    page = await api.context.jobs.list(user_id=user_id, filters=JobFilter())
    return page.total


async def _local_user(api: Api) -> str:
    me = await api.client.get(f"{PREFIX}/usage")
    assert me.status_code == 200
    return "local"


async def test_json_with_seed_field_names_waits_for_the_result(api: Api) -> None:
    response = await api.client.post(
        f"{PREFIX}/edit",
        params={"wait": 30},
        json={
            "operation": "erase",
            "image_base64": b64(png_bytes()),
            "mask_base64": b64(mask_png()),
            "model": "local/engine",
            "output_format": "png",
            "options": {},
        },
    )
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["state"] == "succeeded"
    image = await api.client.get(job["result"]["url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (48, 32)


async def test_select_prompt_arrives_as_search_prompt(api: Api) -> None:
    response = await api.client.post(
        f"{PREFIX}/edit",
        params={"wait": 30},
        json={
            "operation": "search_recolor",
            "image_base64": b64(png_bytes()),
            "prompt": "make it red",
            "select_prompt": "the square",
            "model": "local/engine",
        },
    )
    # Without it the request would be refused as missing a search prompt or mask; with it the
    # local engine runs the job and explains that search prompts need a vision model.
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "unsupported_operation"
    assert "search_prompt" in response.json()["message"]


async def test_guidance_scale_and_options_reach_the_stored_request(api: Api) -> None:
    response = await api.client.post(
        f"{PREFIX}/edit",
        json={
            "operation": "general_edit",
            "image_base64": b64(png_bytes()),
            "prompt": "x",
            "model": STUB_MODEL,
            "guidance_scale": 7.5,
            "options": {"grow_mask": 3},
        },
    )
    assert response.status_code == 202, response.text
    job = await api.context.jobs.get(user_id="local", job_id=response.json()["id"])
    assert "7.5" in repr(job.params) and "grow_mask" in repr(job.params)


async def test_expand_fields_outpaint_the_canvas(api: Api) -> None:
    response = await api.client.post(
        f"{PREFIX}/edit",
        params={"wait": 30},
        json={"operation": "outpaint", "image_base64": b64(png_bytes()), "expand_left": 8, "expand_up": 4},
    )
    assert response.status_code == 200, response.text
    image = await api.client.get(response.json()["result"]["url"])
    assert Image.open(io.BytesIO(image.content)).size == (56, 36)


async def test_multipart_upload(api: Api) -> None:
    response = await api.client.post(
        f"{PREFIX}/edit",
        params={"wait": 30},
        data={"operation": "adjust", "brightness": "1.5", "model": "local/engine"},
        files={"image": ("in.png", png_bytes(), "image/png")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "succeeded"


async def test_stored_asset_ids_as_inputs(api: Api) -> None:
    image = await api.client.post(f"{PREFIX}/assets", files={"file": ("a.png", png_bytes(), "image/png")})
    mask = await api.client.post(f"{PREFIX}/assets", files={"file": ("m.png", mask_png(), "image/png")})
    assert image.status_code == mask.status_code == 201
    response = await api.client.post(
        f"{PREFIX}/edit",
        params={"wait": 30},
        json={"operation": "erase", "image_asset_id": image.json()["id"], "mask_asset_id": mask.json()["id"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["input_asset_id"] == image.json()["id"]


async def test_202_then_polling_reaches_succeeded(api: Api) -> None:
    response = await api.client.post(
        f"{PREFIX}/edit",
        json={
            "operation": "general_edit",
            "image_base64": b64(png_bytes()),
            "prompt": "x",
            "model": STUB_MODEL,
        },
    )
    assert response.status_code == 202
    job_url = response.headers["location"]
    job = response.json()
    for _ in range(200):
        job = (await api.client.get(job_url)).json()
        if job["state"] == "succeeded":
            break
        await asyncio.sleep(0.05)  # polling interval of a client, not a synchronisation
    assert job["state"] == "succeeded" and job["cost_usd"] == "0.02"


async def test_idempotency_key_returns_the_same_job(api: Api) -> None:
    body = {"operation": "general_edit", "image_base64": b64(png_bytes()), "prompt": "x", "model": STUB_MODEL}
    headers = {"Idempotency-Key": "abc-123"}
    first = await api.client.post(f"{PREFIX}/edit", json=body, headers=headers)
    second = await api.client.post(f"{PREFIX}/edit", json=body, headers=headers)
    # The repeat answers with the job as it now stands: 200 once the stub has finished it.
    assert first.status_code == 202 and second.status_code in (200, 202)
    assert first.json()["id"] == second.json()["id"]
    other = await api.client.post(f"{PREFIX}/edit", json={**body, "prompt": "y"}, headers=headers)
    assert other.status_code == 409 and other.json()["code"] == "job_conflict"


async def test_bad_image_is_400_and_creates_no_job(api: Api) -> None:
    user = await _local_user(api)
    response = await api.client.post(
        f"{PREFIX}/edit",
        json={
            "operation": "erase",
            "image_base64": b64(b"not an image at all"),
            "mask_base64": b64(mask_png()),
        },
    )
    assert response.status_code == 400 and response.json()["code"] == "image_rejected"
    assert await _job_count(api, user) == 0


async def test_oversized_upload_is_413(api: Api) -> None:
    big = png_bytes(600, 400, seed=3)  # random pixels do not compress: well over the 512 KiB limit
    assert len(big) > api.context.settings.max_image_bytes
    response = await api.client.post(
        f"{PREFIX}/edit",
        data={"operation": "adjust", "brightness": "1.1"},
        files={"image": ("big.png", big, "image/png")},
    )
    assert response.status_code == 413 and response.json()["code"] == "image_too_large"
    huge = await api.client.post(
        f"{PREFIX}/edit", content=b"x" * (8 * 1024 * 1024), headers={"content-type": "application/json"}
    )
    assert huge.status_code == 413 and huge.json()["code"] == "image_too_large"


async def test_missing_and_stray_fields_are_4xx_with_codes(api: Api) -> None:
    missing = await api.client.post(
        f"{PREFIX}/edit", json={"operation": "erase", "image_base64": b64(png_bytes())}
    )
    assert missing.status_code == 400 and missing.json()["code"] == "missing_field"
    stray = await api.client.post(
        f"{PREFIX}/edit", json={"operation": "erase", "image_base64": "x", "lighting": 1}
    )
    assert stray.status_code == 422 and stray.json()["code"] == "validation_error"
    broken = await api.client.post(
        f"{PREFIX}/edit", content=b"{", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422


async def test_unknown_model_is_404_and_unkeyed_provider_is_400(api: Api) -> None:
    body = {"operation": "general_edit", "image_base64": b64(png_bytes()), "prompt": "x"}
    unknown = await api.client.post(f"{PREFIX}/edit", json={**body, "model": "wavespeed/nope"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "model_not_found"
    unkeyed = await api.client.post(f"{PREFIX}/edit", json={**body, "model": "openai/gpt-image-1"})
    assert unkeyed.status_code in (400, 404)
    assert "key" not in unkeyed.json().get("details", {})
