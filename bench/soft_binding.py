"""Recovery of stripped copies: how often `verify` names the delivered file itself, over the demo's deliveries.

Runs the demo (tiny models, on a throwaway Postgres), then for every delivered file makes what platforms and people
make of it, none of which keeps its metadata, and asks `verify` (the soft binding: ISCC content code, aspect and
size) which file it is:
- stripped: the same pixels without any metadata (a JPEG re-saved with its own quantisation tables);
- JPEG q70 and q50; resized to 50 %; cropped 10 % (5 % off each edge);
- a screenshot: drawn at 75 % with bilinear filtering and saved as PNG;
and 100 unrelated pictures (shapes, gradients, noise and text of other seeds), none of which may match.

"Named" counts a copy whose file is the answer or among the files verify says cannot be told apart from it (the
same crop of the same picture delivered at two sizes, e.g. a 1080² square and a 1200² product card: only a
watermark could separate their copies). Wrong is any other answer.

    python -m bench.soft_binding [--unrelated 100]
"""

from __future__ import annotations

import argparse
import io
import random
import sys

from PIL import Image, ImageDraw

from bench._django import django_on_postgres
from bench._result import result_print


def _saved(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _stripped(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        if image.format == "JPEG" and image.mode in ("RGB", "L"):
            return _saved(image, "JPEG", quality="keep")
        return _saved(image.convert("RGBA" if image.mode in ("RGBA", "LA") else "RGB"), "PNG")


def _rgb(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def _crop(image: Image.Image, share: float = 0.05) -> Image.Image:
    dx, dy = round(image.width * share), round(image.height * share)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


TRANSFORMS = {
    "metadata stripped": _stripped,
    "JPEG q70": lambda data: _saved(_rgb(data), "JPEG", quality=70),
    "JPEG q50": lambda data: _saved(_rgb(data), "JPEG", quality=50),
    "resize 50 %": lambda data: _saved(
        (lambda i: i.resize((i.width // 2, i.height // 2), Image.Resampling.LANCZOS))(_rgb(data)), "JPEG", quality=85
    ),
    "crop 10 %": lambda data: _saved(_crop(_rgb(data)), "JPEG", quality=85),
    "screenshot PNG": lambda data: _saved(
        (lambda i: i.resize((round(i.width * 0.75), round(i.height * 0.75)), Image.Resampling.BILINEAR))(_rgb(data)),
        "PNG",
    ),
}


def _unrelated(seed: int) -> bytes:
    """A picture made of nothing Seed delivered: shapes on a gradient, with noise and words."""
    rng = random.Random(seed)
    width, height = rng.choice([(1080, 1080), (1080, 1350), (1920, 1080), (800, 600), (1200, 1200)])
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    tint = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    image = Image.blend(image, tint, rng.uniform(0.2, 0.8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 30)):
        box = sorted(rng.sample(range(width), 2)), sorted(rng.sample(range(height), 2))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((box[0][0], box[1][0], box[0][1], box[1][1]), fill=tuple(rng.randrange(256) for _ in range(3)))
    draw.text((rng.randrange(width // 2), rng.randrange(height // 2)), f"sample {seed}", fill=(0, 0, 0))
    if seed % 3 == 0:
        noise = Image.effect_noise((width, height), rng.uniform(10, 80)).convert("RGB")
        image = Image.blend(image, noise, 0.3)
    return _saved(image, "JPEG", quality=85)


def _delivered() -> list[tuple]:
    from django.conf import settings

    from delivery.models import DeliveryItem

    files = []
    for item in DeliveryItem.objects.select_related("delivery", "preset").filter(version__credentials__isnull=False):
        path = settings.SEED_DELIVERY_DIR / item.delivery.folder / item.file_name
        files.append((item, path.read_bytes()))
    return files


def _answer(result) -> str:
    from delivery.models import DeliveryItem

    other = DeliveryItem.objects.filter(version_id=result.version_id).select_related("preset").first()
    what = f"{other.file_name} ({other.preset.slug}, delivery {other.delivery_id})" if other else "not a delivered file"
    return f"{result.match} {result.distance} bits: version {result.version_id}, {what}"


def measure(*, unrelated: int) -> dict:
    from delivery.selectors import file_verify

    delivered = _delivered()
    rows = {}
    for name, transform in TRANSFORMS.items():
        counts = {"file": 0, "named": 0, "wrong": 0, "none": 0}
        for item, data in delivered:
            result = file_verify(data=transform(data))
            if result.version_id == item.version_id:
                counts["file"] += 1
            elif item.version_id in result.alike:
                counts["named"] += 1
            elif result.version_id is None:
                counts["none"] += 1
            else:
                counts["wrong"] += 1
                print(f"  wrong: {name} of {item.file_name} ({item.preset.slug}): {_answer(result)}", flush=True)
        rows[name] = counts
    false_matches = sum(file_verify(data=_unrelated(seed)).match != "none" for seed in range(unrelated))
    return {"files": len(delivered), "rows": rows, "false_matches": false_matches, "unrelated": unrelated}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unrelated", type=int, default=100)
    args = parser.parse_args(argv)
    with django_on_postgres():
        from django.core.management import call_command

        call_command("demo", "--no-serve", "--json", stdout=io.StringIO())
        report = measure(unrelated=args.unrelated)
    files = report["files"]
    print(f"{files} delivered files; each copy carries no metadata")
    print(f"{'copy':<20}{'the file':>10}{'named':>8}{'wrong':>8}{'none':>8}")
    for name, counts in report["rows"].items():
        print(f"{name:<20}{counts['file']:>10}{counts['named']:>8}{counts['wrong']:>8}{counts['none']:>8}")
    print(f"unrelated pictures matched: {report['false_matches']} of {report['unrelated']}")
    total = files * len(TRANSFORMS)
    found = sum(counts["file"] + counts["named"] for counts in report["rows"].values())
    wrong = sum(counts["wrong"] for counts in report["rows"].values())
    result_print(
        name="soft_binding",
        ratio=found / total if total else 0.0,
        meaning="stripped copies whose delivered file verify names, over all copies",
        target=">= 0.9, 0 wrong, 0 false of unrelated",
        met=bool(total) and found / total >= 0.9 and wrong == 0 and report["false_matches"] == 0,
        details=f"{files} files x {len(TRANSFORMS)} copies; wrong {wrong}; "
        f"false {report['false_matches']}/{report['unrelated']}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
