"""Pixel slices pinned for every diffusers path beyond txt2img and img2img (issue 29): inpaint, outpaint, ControlNet,
SDXL, LoRA, the hi-res fix, IP-Adapter image prompts, and the matte's cut-out.

The slices catch a change in what a path paints; each test also checks what its path is for (the masked part
repainted, the margin filled, the control, LoRA or adapter applied), so a path that quietly falls back to plain
txt2img or copies its input fails even if someone re-pins its values. Values and tolerance as in test_pinned_pixels.
"""

import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from assets.services.blobs import blob_open
from assets.services.briefs import reference_create
from assets.services.versions import version_import
from generation.imaging import outpaint_prepare
from generation.requests import GenerationRequest, ImagePrompt, LoraSpec
from generation.services.finishing import matte_create
from generation.services.jobs import generation_job_create
from tests.factories import make_brief
from tests.generation.conftest import FAST
from tests.generation.test_pinned_pixels import _assert_slice, _generate, _pixels

# The recipe of test_pinned_pixels' _generate, so that each path here is one change away from its plain image.
PROMPT = "a red can on a roof"
PARAMS = {**FAST, "seed": 42, "batch_size": 1}
# Outpaint takes its size from the init image and the target aspect: 64x64 at 16:9 is a 120x64 canvas with the
# image in columns 28 to 91.
OUTPAINT_PARAMS = {k: v for k, v in PARAMS.items() if k not in ("width", "height")} | {"target_aspect": "16:9"}
KEPT = slice(28, 92)
INPAINTED = (slice(16, 48), slice(16, 48))


def _made(job):
    derivation = job.batches.get().derivation
    derivation.refresh_from_db()
    assert derivation.state == "succeeded", derivation.error
    return derivation.generated.get().version


def _job(tiny, run_jobs, brief, **kwargs) -> np.ndarray:
    request = {"op": "txt2img", "base_model": tiny["base"], "prompt_text": PROMPT, "params": dict(PARAMS), **kwargs}
    with run_jobs():
        job = generation_job_create(request=GenerationRequest(brief=brief, **request))
    return _pixels(_made(job))


def _change(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel mean absolute difference over the channels, in levels of 255."""
    return np.abs(a - b).mean(axis=2)


def _drawing(draw, name="drawing.png") -> io.BytesIO:
    image = Image.new("RGB", (64, 64), (235, 235, 235))
    draw(ImageDraw.Draw(image))
    data = io.BytesIO()
    image.save(data, format="PNG")
    data.seek(0)
    data.name = name
    return data


def _shapes(draw):
    draw.ellipse((8, 6, 40, 38), fill=(230, 40, 60))
    draw.rectangle((36, 20, 58, 56), fill=(20, 20, 20))


def _bar(draw):
    draw.rectangle((4, 30, 60, 40), fill=(10, 10, 10))


def _square_mask() -> ContentFile:
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    data = io.BytesIO()
    mask.save(data, format="PNG")
    return ContentFile(data.getvalue(), name="square.png")


def test_inpaint_repaints_the_masked_square_and_its_prompt_reaches_nothing_else(tiny, run_jobs):
    source = _generate(tiny, run_jobs)

    def inpaint(prompt):
        request = {"op": "inpaint", "init": source, "mask_source": _square_mask(), "params": {**PARAMS, "seed": 3}}
        return _job(tiny, run_jobs, source.brief, prompt_text=prompt, **request)

    hand, bottle = inpaint("a hand"), inpaint("a green bottle")
    assert hand.shape == (64, 64, 3)
    # The tiny VAE is random, so its round trip does not give the unmasked pixels back as a real one nearly does;
    # what does hold is that outside the mask the latents are the init image's, whatever the prompt. The decoder
    # spreads the square's change a few pixels around it, so "outside" is the frame 8 pixels or more away.
    between = _change(hand, bottle)
    far = np.ones((64, 64), dtype=bool)
    far[8:56, 8:56] = False
    assert between[INPAINTED].mean() > 5 and between[far].mean() < 1.5, (between[INPAINTED].mean(), between[far].mean())
    assert _change(hand, _pixels(source))[INPAINTED].mean() > 20, "the square is repainted, not the source kept"
    _assert_slice(hand, INPAINT_CORNER, at=(0, 0))
    _assert_slice(hand, INPAINT_CENTRE, at=(31, 31))


def test_outpaint_paints_the_new_margins_and_its_prompt_leaves_the_image_alone(tiny, run_jobs):
    source = _generate(tiny, run_jobs)

    def outpaint(prompt):
        request = {"op": "outpaint", "init": source, "params": {**OUTPAINT_PARAMS, "seed": 4}}
        return _job(tiny, run_jobs, source.brief, prompt_text=prompt, **request)

    wider, other = outpaint("wider"), outpaint("a green bottle")
    assert wider.shape == (64, 120, 3)
    margins = np.concatenate([wider[:, : KEPT.start], wider[:, KEPT.stop :]], axis=1)
    assert margins.std() > 10
    # The margins start as the image's edges stretched and blurred; the model must paint over them.
    canvas, _ = outpaint_prepare(image=Image.fromarray(_pixels(source).astype(np.uint8)), width=120, height=64)
    assert _change(wider, np.asarray(canvas, dtype=np.int16))[:, : KEPT.start].mean() > 10
    between = _change(wider, other)
    assert between[:, : KEPT.start].mean() > 5 * between[:, KEPT].mean() and between[:, KEPT].mean() < 1.5
    _assert_slice(wider, OUTPAINT_CORNER, at=(0, 0))
    _assert_slice(wider, OUTPAINT_CENTRE, at=(31, 58))


def test_controlnet_follows_its_control_image(tiny, run_jobs):
    plain = _generate(tiny, run_jobs)
    brief = plain.brief

    def controlled(draw):
        control = reference_create(brief=brief, source=_drawing(draw), title=draw.__name__)
        return _job(tiny, run_jobs, brief, op="controlnet", control=control, controlnet=tiny["controlnet"])

    shapes, bar = controlled(_shapes), controlled(_bar)
    assert shapes.shape == (64, 64, 3) and shapes.std() > 10
    assert _change(shapes, _pixels(plain)).mean() > 3, "the ControlNet is applied"
    assert _change(shapes, bar).mean() > 0.5, "the control image is read"
    _assert_slice(shapes, CONTROLNET_CORNER)
    _assert_slice(shapes, CONTROLNET_CENTRE, at=(31, 31))


def test_sdxl_pixels(tiny, run_jobs):
    pixels = _job(tiny, run_jobs, make_brief(), base_model=tiny["base_xl"])
    assert pixels.shape == (64, 64, 3) and pixels.std() > 10
    _assert_slice(pixels, SDXL_CORNER)
    _assert_slice(pixels, SDXL_CENTRE, at=(31, 31))


def test_a_lora_at_its_weight_changes_the_pixels(tiny, run_jobs):
    plain = _generate(tiny, run_jobs)
    pixels = _job(tiny, run_jobs, plain.brief, loras=[LoraSpec(weights=tiny["lora_a"], weight=0.8)])
    assert pixels.shape == (64, 64, 3) and pixels.std() > 10
    assert _change(pixels, _pixels(plain)).mean() > 2
    _assert_slice(pixels, LORA_CORNER)
    _assert_slice(pixels, LORA_CENTRE, at=(31, 31))


@pytest.mark.parametrize("upscaler", ["latent", "lanczos"])
def test_the_hires_fix_repaints_its_enlarged_first_pass(tiny, run_jobs, upscaler):
    plain = _generate(tiny, run_jobs)  # the first pass's recipe alone
    params = {**PARAMS, "hires_scale": 2.0, "hires_upscaler": upscaler, "strength": 0.5}
    pixels = _job(tiny, run_jobs, plain.brief, params=params)
    assert pixels.shape == (128, 128, 3) and pixels.std() > 10
    enlarged = Image.fromarray(_pixels(plain).astype(np.uint8)).resize((128, 128), Image.Resampling.LANCZOS)
    assert _change(pixels, np.asarray(enlarged, dtype=np.int16)).mean() > 10, "the second pass ran"
    _assert_slice(pixels, HIRES_CORNER[upscaler])
    _assert_slice(pixels, HIRES_CENTRE[upscaler], at=(63, 63))


@pytest.mark.parametrize("looks_at", ["colour_lock", "style"])
def test_an_ip_adapter_image_prompt_changes_the_pixels(tiny, run_jobs, looks_at):
    plain = _generate(tiny, run_jobs)
    if looks_at == "colour_lock":
        sees = {"colour_lock": True}
    else:
        sees = {"references": (reference_create(brief=plain.brief, source=_drawing(_shapes), title="style"),)}
    image_prompt = ImagePrompt(adapter=tiny["ip_adapter"], encoder=tiny["image_encoder"], scale=0.8, **sees)
    pixels = _job(tiny, run_jobs, plain.brief, image_prompt=image_prompt)
    assert pixels.shape == (64, 64, 3) and pixels.std() > 10
    assert _change(pixels, _pixels(plain)).mean() > 3
    _assert_slice(pixels, IP_ADAPTER_CORNER[looks_at])
    _assert_slice(pixels, IP_ADAPTER_CENTRE[looks_at], at=(31, 31))


def test_the_matte_cut_out_keeps_the_colours_and_pins_its_alpha(tiny, run_jobs):
    source = version_import(brief=make_brief(), source=_drawing(_shapes, name="logo.png"))
    with run_jobs():
        derivation = matte_create(version=source, matting=tiny["matting"])
    derivation.refresh_from_db()
    assert derivation.state == "succeeded", derivation.error
    with blob_open(blob=derivation.generated.get().version.blob) as handle, Image.open(handle) as image:
        cut = np.asarray(image.convert("RGBA"), dtype=np.int16)
    with blob_open(blob=derivation.files.get().blob) as handle, Image.open(handle) as image:
        mask = np.asarray(image.convert("L"), dtype=np.int16)
    assert cut.shape == (64, 64, 4)
    assert np.array_equal(cut[:, :, :3], _pixels(source)), "a cut-out changes the alpha only"
    alpha = cut[:, :, 3:]  # a 3x3x1 slice: the one channel the model made
    assert np.array_equal(alpha[:, :, 0], mask) and alpha.std() > 10
    _assert_slice(alpha, MATTE_CORNER, at=(0, 0))
    _assert_slice(alpha, MATTE_EDGE, at=(20, 40))  # across the dark rectangle's top edge


INPAINT_CORNER = [
    [[133, 138, 122], [136, 135, 124], [134, 133, 123]],
    [[133, 140, 122], [135, 132, 125], [131, 134, 124]],
    [[132, 137, 124], [131, 132, 127], [127, 138, 126]],
]
INPAINT_CENTRE = [
    [[185, 166, 119], [208, 255, 182], [203, 241, 255]],
    [[174, 236, 7], [255, 34, 104], [179, 0, 59]],
    [[255, 193, 183], [182, 0, 39], [0, 28, 131]],
]
OUTPAINT_CORNER = [
    [[125, 151, 167], [124, 172, 144], [187, 103, 134]],
    [[107, 130, 168], [122, 133, 121], [215, 62, 124]],
    [[85, 144, 161], [73, 122, 120], [114, 84, 141]],
]
OUTPAINT_CENTRE = [
    [[131, 136, 127], [131, 137, 127], [131, 137, 127]],
    [[130, 136, 126], [130, 136, 126], [131, 137, 127]],
    [[130, 136, 125], [130, 137, 125], [131, 137, 125]],
]
CONTROLNET_CORNER = [
    [[54, 128, 143], [116, 156, 109], [174, 164, 139]],
    [[143, 119, 134], [130, 102, 99], [123, 153, 124]],
    [[133, 156, 125], [136, 143, 122], [102, 148, 145]],
]
CONTROLNET_CENTRE = [
    [[97, 41, 168], [112, 50, 203], [131, 171, 132]],
    [[77, 71, 161], [65, 173, 191], [118, 171, 119]],
    [[121, 172, 126], [85, 199, 166], [126, 194, 103]],
]
SDXL_CORNER = [
    [[127, 170, 182], [117, 210, 130], [144, 138, 99]],
    [[127, 131, 163], [104, 183, 171], [92, 100, 144]],
    [[146, 111, 96], [145, 163, 140], [116, 111, 123]],
]
SDXL_CENTRE = [
    [[126, 153, 51], [108, 87, 21], [132, 100, 74]],
    [[89, 142, 129], [125, 97, 118], [125, 140, 94]],
    [[170, 157, 181], [196, 88, 144], [141, 126, 96]],
]
LORA_CORNER = [
    [[56, 132, 161], [124, 149, 121], [168, 161, 153]],
    [[151, 114, 144], [130, 101, 110], [121, 152, 132]],
    [[123, 151, 124], [118, 143, 118], [91, 143, 137]],
]
LORA_CENTRE = [
    [[87, 50, 193], [121, 39, 210], [124, 185, 142]],
    [[59, 92, 159], [71, 166, 180], [127, 163, 128]],
    [[110, 172, 127], [89, 212, 167], [118, 182, 118]],
]
HIRES_CORNER = {
    "latent": [
        [[129, 117, 83], [172, 177, 129], [164, 157, 128]],
        [[187, 95, 114], [194, 146, 135], [179, 134, 164]],
        [[162, 108, 90], [155, 150, 83], [166, 152, 116]],
    ],
    "lanczos": [
        [[114, 138, 133], [78, 146, 109], [131, 117, 123]],
        [[119, 136, 129], [106, 154, 109], [147, 136, 119]],
        [[119, 130, 85], [149, 155, 81], [146, 146, 102]],
    ],
}
HIRES_CENTRE = {
    "latent": [
        [[124, 126, 144], [90, 118, 180], [161, 145, 108]],
        [[79, 122, 157], [41, 131, 189], [132, 147, 114]],
        [[102, 149, 110], [93, 111, 169], [164, 100, 143]],
    ],
    "lanczos": [
        [[144, 94, 138], [138, 74, 194], [123, 77, 207]],
        [[119, 97, 86], [99, 157, 164], [148, 94, 145]],
        [[198, 161, 153], [179, 173, 181], [103, 127, 86]],
    ],
}
IP_ADAPTER_CORNER = {
    "colour_lock": [
        [[74, 133, 148], [125, 140, 120], [163, 159, 147]],
        [[154, 112, 141], [128, 101, 115], [122, 150, 129]],
        [[134, 146, 125], [124, 139, 125], [101, 145, 140]],
    ],
    "style": [
        [[78, 136, 152], [127, 139, 123], [161, 158, 148]],
        [[154, 113, 144], [127, 102, 118], [120, 150, 130]],
        [[131, 146, 126], [121, 139, 125], [99, 145, 140]],
    ],
}
IP_ADAPTER_CENTRE = {
    "colour_lock": [
        [[103, 52, 160], [124, 59, 206], [137, 162, 139]],
        [[69, 107, 179], [74, 145, 195], [124, 125, 143]],
        [[102, 164, 146], [93, 190, 177], [126, 172, 120]],
    ],
    "style": [
        [[105, 59, 157], [121, 58, 207], [135, 162, 146]],
        [[70, 114, 180], [74, 143, 195], [127, 126, 142]],
        [[101, 167, 149], [95, 190, 178], [128, 172, 120]],
    ],
}
MATTE_CORNER = [[[185], [154], [154]], [[165], [125], [125]], [[165], [125], [125]]]
MATTE_EDGE = [[[44], [59], [75]], [[81], [65], [61]], [[69], [73], [74]]]
