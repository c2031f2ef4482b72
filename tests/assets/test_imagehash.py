"""The perceptual hash and thumbnails see a palette image as a viewer does, not as its palette indices."""

import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from PIL import Image, ImageDraw

from assets.imagehash import hash_distance, perceptual_hash
from assets.services.briefs import reference_create
from assets.thumbnails import thumbnail_ensure
from tests.factories import make_brief


def _palette_picture() -> Image.Image:
    picture = Image.new("RGB", (320, 200), (250, 250, 245))
    draw = ImageDraw.Draw(picture)
    for step in range(0, 320, 8):
        draw.line([(step, 0), (319 - step, 199)], fill=(step % 256, 40, 255 - step % 256), width=3)
    draw.ellipse([40, 30, 200, 170], fill=(200, 30, 60))
    return picture.quantize(colors=16)


def test_a_palette_image_hashes_like_the_picture_it_shows():
    palette = _palette_picture()
    assert palette.mode == "P"
    shown = palette.convert("RGB")
    assert hash_distance(perceptual_hash(palette), perceptual_hash(shown)) == 0
    assert hash_distance(perceptual_hash(shown), perceptual_hash(Image.new("RGB", (320, 200), (0, 0, 0)))) > 8


@pytest.mark.django_db
def test_a_palette_thumbnail_is_resampled_in_rgb(media_root):
    buffer = io.BytesIO()
    _palette_picture().save(buffer, format="PNG")
    reference = reference_create(brief=make_brief(), source=ContentFile(buffer.getvalue(), name="board.png"))
    with (
        storages["derived"].open(thumbnail_ensure(blob=reference.blob, size=96), "rb") as handle,
        Image.open(handle) as thumb,
    ):
        thumb = np.asarray(thumb.convert("RGB"), dtype=np.float64)
    expected = _palette_picture().convert("RGB")
    expected.thumbnail((96, 96))
    # Scaled in RGB the thumbnail stays within WebP's loss of the picture (about 6 levels here); scaled by
    # nearest neighbour in palette mode, its thin lines alias (about 17).
    assert thumb.shape[:2] == (expected.height, expected.width)
    assert np.abs(thumb - np.asarray(expected, dtype=np.float64)).mean() < 10
