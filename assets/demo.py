"""The sample brief the demo loads: a client, campaign, brief, template, mood board and two imports, then two
images from other tools imported with their recipes.

Other apps add their own stages (assets.hooks.demo_stage_register in their AppConfig.ready()); each
stage takes the shared context and returns its part of the summary.
"""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Callable

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageFilter

from assets.errors import ApplicationError
from assets.models import Brief, Campaign, Client, PromptTemplate, Version
from assets.services.briefs import brief_create, campaign_create, client_create, reference_create
from assets.services.prompts import prompt_render, prompt_template_create
from assets.services.versions import version_import

PALETTE = ["#FE2C54", "#00E0FF", "#FFD500"]
REFERENCE_COUNT = 24
TEMPLATE_TEXT = (
    "{subject} on a sunlit rooftop, {camera action}, {lighting adjective} lighting, "
    "bold brand colours, crisp product focus, editorial photography"
)


WAIT_SECONDS = 900


def worker_wait(check: Callable, what: str, *, timeout: float = WAIT_SECONDS):
    """Poll `check` until it returns something other than None: what a demo stage waits for from the worker."""
    deadline = time.monotonic() + timeout
    while (result := check()) is None:
        if time.monotonic() > deadline:
            raise ApplicationError(f"the worker did not finish {what} within {timeout:.0f} s; is qcluster running?")
        time.sleep(0.25)
    return result


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def mood_board_image(*, index: int, size: tuple[int, int] = (288, 512), image_format: str = "PNG") -> bytes:
    """A deterministic abstract mood image in the brand palette: gradient sky, sun, shapes, grain."""
    rng = random.Random(index)
    width, height = size
    top, bottom = (_hex_rgb(rng.choice(PALETTE)) for _ in range(2))
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / (height - 1)
        draw.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    for _ in range(rng.randint(3, 7)):
        colour = _hex_rgb(rng.choice(PALETTE + ["#FFFFFF", "#1B1B1F"]))
        x, y, r = rng.randint(0, width), rng.randint(0, height), rng.randint(12, width // 2)
        if rng.random() < 0.5:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        else:
            draw.rectangle([x - r, y - r // 3, x + r, y + r // 3], fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 3.0)))
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **({"quality": 90} if image_format == "JPEG" else {}))
    return buffer.getvalue()


def _get_or_make(model, lookup: dict, make):
    existing = model.objects.filter(**lookup).first()
    return existing if existing is not None else make()


def brief_stage(*, context: dict) -> dict:
    user = context["user"]
    client, campaign, brief = _brief_ensure(user=user)
    references = _mood_board_add(brief=brief, user=user)
    template = _get_or_make(
        PromptTemplate,
        {"brief": brief, "name": "Rooftop hero"},
        lambda: prompt_template_create(brief=brief, name="Rooftop hero", text=TEMPLATE_TEXT, created_by=user),
    )
    prompt = prompt_render(
        template=template,
        values={
            "subject": "a chilled can of Citrus Wave soda",
            "camera action": "slow dolly-in at eye level",
            "lighting adjective": "golden-hour",
        },
    )
    comp, retouch = _comps_import(brief=brief, references=references, user=user)
    context.update(brief=brief, references=references, template=template, prompt=prompt)
    return {
        "client": client.pk,
        "campaign": campaign.pk,
        "brief": brief.pk,
        "template": template.pk,
        "prompt": prompt.pk,
        "references": [reference.pk for reference in references],
        "versions": [comp.pk, retouch.pk],
    }


def _brief_ensure(*, user) -> tuple[Client, Campaign, Brief]:
    client = _get_or_make(Client, {"name": "Aurora Soda Co."}, lambda: client_create(name="Aurora Soda Co."))
    campaign = _get_or_make(
        Campaign,
        {"client": client, "name": "Summer Fizz 2027"},
        lambda: campaign_create(client=client, name="Summer Fizz 2027"),
    )
    brief = _get_or_make(
        Brief,
        {"campaign": campaign, "title": "Launch hero: Citrus Wave"},
        lambda: brief_create(
            campaign=campaign,
            title="Launch hero: Citrus Wave",
            palette=PALETTE,
            aspect="9:16",
            channels=[Brief.Channel.INSTAGRAM, Brief.Channel.TIKTOK, Brief.Channel.WEB, Brief.Channel.PRINT],
            content_type=Brief.ContentType.CAMPAIGN,
            required_copy=["CITRUS WAVE"],
            notes="Summer launch of the Citrus Wave can. Energetic, sunny, rooftop party; product always in focus.",
            created_by=user,
        ),
    )
    return client, campaign, brief


def _mood_board_add(*, brief: Brief, user) -> list:
    return [
        reference_create(
            brief=brief,
            source=ContentFile(
                mood_board_image(index=i, image_format="JPEG" if i % 3 == 0 else "PNG"),
                name=f"mood_{i:02d}.{'jpg' if i % 3 == 0 else 'png'}",
            ),
            title=f"Mood {i + 1:02d}",
            created_by=user,
        )
        for i in range(REFERENCE_COUNT)
    ]


def _comps_import(*, brief: Brief, references: list, user) -> tuple[Version, Version]:
    """The agency's layout comp and its retouch, both made outside Seed."""
    comp = _get_or_make(
        Version,
        {"brief": brief, "label": "Agency comp"},
        lambda: version_import(
            brief=brief,
            source=ContentFile(mood_board_image(index=100, size=(576, 1024)), name="agency_comp.png"),
            references=references[:3],
            note="Layout comp from the agency",
            label="Agency comp",
            created_by=user,
        ),
    )
    retouch = _get_or_make(
        Version,
        {"brief": brief, "label": "Retouch of agency comp"},
        lambda: version_import(
            brief=brief,
            source=ContentFile(
                mood_board_image(index=101, size=(576, 1024), image_format="JPEG"), name="comp_retouch.jpg"
            ),
            parents=[comp],
            note="Retouched outside Seed",
            label="Retouch of agency comp",
            created_by=user,
        ),
    )
    return comp, retouch


def _with_metadata(*, index: int, chunks: dict[str, str]) -> bytes:
    """A mood-board-like picture carrying text chunks the way another tool writes them into its PNGs."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    with Image.open(io.BytesIO(mood_board_image(index=index, size=(288, 512)))) as image:
        image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def imports_stage(*, context: dict) -> dict:
    """Two images made outside Seed come in with their recipe: one from AUTOMATIC1111 (its models match the
    registry by hash), one from ComfyUI (a LoRA chain; its checkpoint is not registered, and the report says so)."""
    from assets.models import ModelWeights
    from assets.services.recipe_imports import images_import

    brief, user = context["brief"], context["user"]
    done = list(brief.versions.filter(label__in=["a1111_rooftop.png", "comfyui_neon.png"]).values_list("pk", flat=True))
    if done:
        return {"versions": done}
    # The A1111 image was made with SD 1.5 weights: the tiny ones stand in for them.
    base = (
        ModelWeights.objects.filter(kind=ModelWeights.Kind.BASE, architecture=ModelWeights.Architecture.SD15)
        .order_by("pk")
        .first()
    )
    lora = (
        ModelWeights.objects.filter(kind=ModelWeights.Kind.LORA, architecture=ModelWeights.Architecture.SD15)
        .order_by("pk")
        .first()
    )
    reports = images_import(
        brief=brief,
        created_by=user,
        sources=[
            ContentFile(
                _with_metadata(index=200, chunks={"parameters": _a1111_parameters(base=base, lora=lora)}),
                name="a1111_rooftop.png",
            ),
            ContentFile(
                _with_metadata(index=201, chunks={"prompt": json.dumps(_comfyui_graph(lora=lora))}),
                name="comfyui_neon.png",
            ),
        ],
    )
    refused = [f"{report['file']}: {report['error']}" for report in reports if not report["imported"]]
    if refused:
        raise ApplicationError("the demo's outside images were refused: " + "; ".join(refused))
    return {
        "versions": [report["version"] for report in reports],
        "reports": [
            {key: report[key] for key in ("file", "generator", "recovered", "matched", "missing")} for report in reports
        ],
    }


def _a1111_parameters(*, base, lora) -> str:
    """An AUTOMATIC1111 infotext naming the registered base model and LoRA by their hashes, as A1111 writes them."""
    return (
        f"a can of Citrus Wave on a rooftop, confetti <lora:{lora.name}:0.6>\nNegative prompt: blurry\n"
        f"Steps: 12, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 4242, Size: 72x128, "
        f'Model hash: {base.short_hash}, Model: "{base.name}", Lora hashes: "{lora.name}: {lora.sha256[:12]}", '
        "Version: v1.10.1"
    )


def _comfyui_graph(*, lora) -> dict:
    """A ComfyUI API graph: an unregistered checkpoint, the registered LoRA, a KSampler, saved."""
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "juggernaut_reborn.safetensors"}},
        "10": {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": f"{lora.name}.safetensors",
                "strength_model": 0.9,
                "model": ["4", 0],
                "clip": ["4", 1],
            },
        },
        "6": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "Citrus Wave can, neon night market", "clip": ["10", 1]},
        },
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["10", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 288, "height": 512, "batch_size": 1}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 777,
                "steps": 20,
                "cfg": 6.0,
                "sampler_name": "euler_ancestral",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["10", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0]}},
    }
