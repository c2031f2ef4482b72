import numpy as np
import pytest
from PIL import Image

from assets.errors import ApplicationError
from assets.models import Derivation, Phase, Used, Version
from delivery.renditions import focal_crop_box
from generation import finishing_ops
from generation.reproduce import version_reproduce
from generation.services.finishing import finishing_create, palette_snap_create, upscale_create, upscale_factor_pick

IDENTITY_CUBE = 'TITLE "identity"\nLUT_3D_SIZE 2\n' + "".join(
    f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1)
)


def _output(derivation: Derivation) -> Version:
    derivation.refresh_from_db()
    assert derivation.state == Derivation.State.SUCCEEDED, derivation.error
    return derivation.generated.get().version


def test_tiled_upscale_matches_untiled(tiny_files):
    from spandrel import ModelLoader

    from generation.upscale import upscale_array

    descriptor = ModelLoader().load_from_file(str(tiny_files["upscaler_x4"]))
    descriptor.model.eval()
    y, x = np.mgrid[0:72, 0:88]
    pixels = np.stack([(x * 3) % 256, (y * 5) % 256, ((x + y) * 2) % 256], axis=-1).astype(np.uint8)
    whole = upscale_array(pixels, descriptor=descriptor, tile=4096, overlap=0).astype(int)
    tiled = upscale_array(pixels, descriptor=descriptor, tile=32, overlap=24).astype(int)
    assert whole.shape == tiled.shape == (288, 352, 3)
    difference = np.abs(whole - tiled)
    seams = np.zeros(whole.shape[:2], dtype=bool)
    for seam in range(32 * 4, 352, 32 * 4):
        seams[:, seam - 8 : seam + 8] = True
    for seam in range(32 * 4, 288, 32 * 4):
        seams[seam - 8 : seam + 8, :] = True
    assert difference[~seams].max() <= 1
    assert difference[seams].max() <= 4 and difference[seams].mean() < 0.5


def test_upscale_rule_smallest_factor_that_covers_the_slot():
    assert upscale_factor_pick(source=(1024, 1024), target=(1080, 1080), available=[2, 4]) == 2
    assert upscale_factor_pick(source=(640, 640), target=(2560, 1080), available=[2, 4]) == 4
    assert upscale_factor_pick(source=(2048, 2048), target=(1920, 1080), available=[2, 4]) is None
    assert upscale_factor_pick(source=(64, 64), target=(2560, 1080), available=[2, 4]) == 4


def test_upscale_on_the_worker_records_the_model_and_reproduces(people, generated, tiny, run_jobs):
    with pytest.raises(ApplicationError, match="no upscale needed"):
        upscale_create(version=generated, target_width=32, target_height=32)
    with run_jobs():
        derivation = upscale_create(
            version=generated, target_width=120, target_height=100, created_by=people["producer"]
        )
    upscaled = _output(derivation)
    assert (upscaled.width, upscaled.height) == (128, 128) and derivation.params["scale"] == 2
    assert derivation.phase == Phase.FINISHING and upscaled.seed == generated.seed
    assert derivation.used.get(role=Used.Role.UPSCALER).model_weights == tiny["upscaler_x2"]
    with run_jobs():
        snap = palette_snap_create(version=upscaled, pull=0.8)
    snapped = _output(snap)
    result = version_reproduce(version=snapped)
    assert result.verdict == "bit_identical"
    assert [step["op"] for step in result.steps if step["rerun"]] == ["txt2img", "upscale", "lut"]


@pytest.mark.parametrize(
    "op, params, files",
    [
        ("grade", {"exposure": 0.5, "contrast": 1.2, "saturation": 1.3, "temperature": 20.0}, {}),
        ("sharpen", {"radius": 2.0, "percent": 150, "threshold": 3}, {}),
        ("denoise", {"strength": 0.7}, {}),
        ("text_overlay", {"text": "Citrus Wave — now in cans", "size": 12, "position": "bottom"}, {}),
        ("lut", {"strength": 0.5}, {"files": {"lut": IDENTITY_CUBE.encode()}}),
    ],
)
def test_finishing_operations_run_on_the_worker_with_typed_params(generated, run_jobs, op, params, files):
    with run_jobs():
        derivation = finishing_create(version=generated, op=op, params=params, **files)
    output = _output(derivation)
    assert derivation.used.get(role=Used.Role.PARENT).version == generated
    assert (output.width, output.height) == (generated.width, generated.height)
    if op == "lut":
        assert derivation.used.get(role=Used.Role.LUT).blob_id == derivation.params["lut_sha256"]
        assert output.blob_id != generated.blob_id  # same pixels, new PNG with its own finishing record
    assert version_reproduce(version=output).verdict == "bit_identical"


def test_composite_with_a_masked_layer(people, generated, run_jobs):
    from generation.services.finishing import Layer
    from tests.factories import image_bytes

    mask = image_bytes(size=(64, 64), colour=(255, 255, 255))
    with run_jobs():
        derivation = finishing_create(
            version=generated,
            op="composite",
            params={"blend": "multiply"},
            layers=[Layer(source=generated, mask=mask)],
        )
    _output(derivation)
    assert (
        derivation.used.filter(role=Used.Role.LAYER).count() == 1
        and derivation.used.filter(role=Used.Role.MASK).count() == 1
    )


@pytest.mark.parametrize(
    "cube, message",
    [
        (b"LUT_3D_SIZE 2\n0 0 0\n", "needs 8 rows"),
        (b"0 0 0\n", "no LUT_3D_SIZE"),
        (b"LUT_3D_SIZE 99\n", "out of range"),
        (b"LUT_3D_SIZE 2\n0 0 zero\n", "line 2"),
        (b"LUT_1D_SIZE 4\n", "1D LUTs"),
        (b"LUT_3D_SIZE 2\nDOMAIN_MAX 2 2 2\n" + b"0 0 0\n" * 8, "domain"),
        (b"\xff\xfe\x00garbage", "not text"),
    ],
)
def test_malformed_cube_files_are_refused_with_nothing_written(generated, media_root, cube, message):
    before = {p for p in media_root.rglob("*") if p.is_file()}
    derivations = Derivation.objects.count()
    with pytest.raises(ApplicationError, match=message):
        finishing_create(version=generated, op="lut", params={}, files={"lut": cube})
    assert Derivation.objects.count() == derivations
    assert {p for p in media_root.rglob("*") if p.is_file()} == before


def test_palette_cube_pulls_hues_toward_the_brand_and_keeps_greys():
    lut = finishing_ops.cube_parse(finishing_ops.palette_cube(palette=["#FE2C54"], pull=0.9))
    reddish = Image.new("RGB", (4, 4), (230, 60, 60))
    grey = Image.new("RGB", (4, 4), (128, 128, 128))
    moved = np.asarray(finishing_ops.cube_apply(reddish, lut))[0, 0].astype(int)
    assert abs(moved[2] - 84) < abs(60 - 84)  # blue channel moves toward the brand red's
    assert np.abs(np.asarray(finishing_ops.cube_apply(grey, lut))[0, 0].astype(int) - 128).max() <= 12


def test_focal_crop_stays_inside_and_centres_where_it_can():
    assert focal_crop_box(size=(400, 200), aspect=(1, 1), focal=(0.5, 0.5)) == (100, 0, 300, 200)
    assert focal_crop_box(size=(400, 200), aspect=(1, 1), focal=(0.95, 0.5)) == (200, 0, 400, 200)
    assert focal_crop_box(size=(400, 200), aspect=(16, 9), focal=(0.0, 0.0)) == (0, 0, 356, 200)
