"""The vignette: corners toward a colour, the centre kept, checked before anything is queued, and re-run from
the lineage to the same bytes."""

import numpy as np
import pytest
from PIL import Image

from assets.errors import ApplicationError
from assets.models import Derivation
from assets.services.blobs import blob_open
from assets.services.versions import version_import
from generation.operations.vignette import vignette
from generation.reproduce import version_reproduce
from generation.services.finishing import finishing_create
from tests.factories import image_file, make_brief

GREY = (128, 128, 128)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_the_corners_darken_and_the_centre_stays():
    wide = Image.new("RGB", (96, 54), GREY)
    pixels = _pixels(vignette(wide, amount=1.0, midpoint=0.3, roundness=0.0, colour="#000000"))
    assert (pixels[27, 48] == GREY).all()
    assert (pixels[0, 0] <= 8).all() and (pixels[-1, -1] <= 8).all()
    # Falloff from the middle of an edge toward its corner, never back up.
    edge = pixels[0, 48:, 0]
    assert (np.diff(edge) <= 0).all() and edge[0] > edge[-1]
    assert (_pixels(vignette(wide, amount=0.0, midpoint=0.3, roundness=0.0, colour="#000000")) == GREY).all()


def test_roundness_makes_the_falloff_a_circle_on_a_wide_frame():
    wide = Image.new("RGB", (160, 40), GREY)
    framed = _pixels(vignette(wide, amount=1.0, midpoint=0.2, roundness=0.0, colour="#000000"))
    round_ = _pixels(vignette(wide, amount=1.0, midpoint=0.2, roundness=1.0, colour="#000000"))
    # The frame's own proportions darken the top edge's middle and the side edge's middle alike; a circle darkens
    # the far sides of a wide frame more than its top.
    assert abs(int(framed[0, 80, 0]) - int(framed[20, 0, 0])) <= 4  # pixel centres sit 1/40 and 1/160 in
    assert round_[20, 0, 0] < round_[0, 80, 0]


def test_a_coloured_vignette_tints_the_corners():
    pixels = _pixels(
        vignette(Image.new("RGB", (40, 40), GREY), amount=1.0, midpoint=0.2, roundness=1.0, colour="#FE2C54")
    )
    assert tuple(pixels[0, 0]) == (254, 44, 84) and tuple(pixels[20, 20]) == GREY


def test_bad_parameters_are_refused_before_anything_is_written(db):
    version = version_import(brief=make_brief(), source=image_file(size=(40, 40), colour=GREY))
    before = Derivation.objects.count()
    for params, message in (
        ({"amount": 1.5}, "at most 1.0"),
        ({"amount": 0.5, "colour": "black"}, "a colour like #FE2C54"),
        ({"amount": 0.5, "midpoint": 1.0}, "at most 0.95"),
        ({}, "'amount' is required"),
    ):
        with pytest.raises(ApplicationError, match=message):
            finishing_create(version=version, op="vignette", params=params)
    assert Derivation.objects.count() == before


def test_the_worker_runs_it_and_reproduce_gets_the_same_bytes(db, run_jobs):
    version = version_import(brief=make_brief(), source=image_file(size=(48, 64), colour=GREY))
    with run_jobs():
        derivation = finishing_create(version=version, op="vignette", params={"amount": 0.8, "midpoint": 0.4})
    output = derivation.generated.get().version
    with blob_open(blob=output.blob) as handle, Image.open(handle) as image:
        pixels = _pixels(image.convert("RGB"))
    assert (pixels[32, 24] == GREY).all() and (pixels[0, 0] < 60).all()
    assert version_reproduce(version=output).verdict == "bit_identical"
