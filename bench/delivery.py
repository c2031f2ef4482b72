"""Delivering a 4096² master to the seven default presets vs a plain Pillow floor, measured in one run.

The floor decodes the master once, then crops, resizes and encodes JPEG q90 with no metadata for every
preset, on as many threads as the delivery task uses (SEED_DELIVERY_THREADS). Ours is the worker's whole
delivery task: approval re-hash, QC, render, EXIF, C2PA signing of the master and every variant with
read-back validation, rows, perceptual hashes and the zip bundle. Also prints the provenance share of our
total in wall-clock time (the variants' encode-stamp-sign pass less the same encodes done plain on as many
threads, plus every step that exists only for provenance: the lineage summary, C2PA actions, the ingredient
archives, the approval assertion) and the bytes the C2PA manifest adds to the 1080² square JPEG.

    python -m bench.delivery [--size 4096]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench._django import django_on_postgres
from bench._result import result_print
from bench._timer import Timer


def _master_png(size: int) -> bytes:
    """A busy, photo-like master: gradients, shapes and sensor-like grain, so encoders and hashes do real work
    (its 1080² JPEG q90 is in the few-hundred-kB range of real photographs)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([254 * (1 - y) + 20 * x, 44 + 180 * x * y, 84 + 150 * y], axis=-1)
    base += rng.normal(0, 14, base.shape)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        cx, cy, r = rng.integers(0, size, 2).tolist() + [int(rng.integers(size // 40, size // 6))]
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _floor(*, data: bytes, presets, render, threads: int) -> tuple[float, float]:
    """Decode once, then crop, resize and encode every preset with Pillow alone on `threads` threads:
    (total seconds, seconds the encoding pass alone takes on those threads)."""
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    started = time.perf_counter()
    with Image.open(io.BytesIO(data)) as opened:
        pixels = opened.convert("RGB")

    def one(preset):
        rendered = render(master=pixels, preset=preset, focal=(0.5, 0.5), slate={"title": "Bench", "lines": ["bench"]})
        rendered.image.save(io.BytesIO(), format="JPEG", quality=preset.quality)
        return rendered.image

    with ThreadPoolExecutor(max_workers=threads) as pool:
        images = list(pool.map(one, presets))
    total = time.perf_counter() - started
    # The same encodes again as a pass of their own: what the variants' encoding takes on these threads without any
    # metadata or signing, to set against ours (the floor's total above is not counted with it).
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda image: image.save(io.BytesIO(), format="JPEG", quality=90), images))
    return total, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3, help="floor and delivery runs, alternating; medians compared")
    args = parser.parse_args()
    keys = Path(tempfile.mkdtemp(prefix="seed-bench-keys-"))
    os.environ.update(
        SEED_C2PA_CERT=str(keys / "signer-chain.pem"),
        SEED_C2PA_KEY=str(keys / "signer-key.pem"),
        SEED_C2PA_TRUST_ANCHORS=str(keys / "root.pem"),
        SEED_MAX_UPLOAD_BYTES=str(512 * 1024 * 1024),
    )
    with django_on_postgres():
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.core.files.base import ContentFile

        from assets.models import ClientMembership
        from assets.services.briefs import brief_create, campaign_create, client_create
        from assets.services.versions import version_import
        from delivery import signing
        from delivery.keys import dev_ca_create
        from delivery.models import ChannelPreset, Delivery
        from delivery.renditions import render
        from delivery.services import deliveries
        from review.models import Decision, ReviewRound
        from review.roles import CLIENT_REVIEWER, PRODUCER, roles_ensure
        from review.services.rounds import decision_record, round_open

        dev_ca_create(folder=keys)
        roles_ensure()
        client = client_create(name="Bench Co")
        brief = brief_create(
            campaign=campaign_create(client=client, name="Bench"),
            title="Bench",
            palette=["#FE2C54", "#00E0FF"],
            aspect="1:1",
            channels=["web"],
        )
        data = _master_png(args.size)
        master = version_import(brief=brief, source=ContentFile(data, name="master.png"), label="4096 master")
        users = get_user_model().objects
        producer = users.create_user("producer", is_staff=True)
        producer.groups.add(Group.objects.get(name=PRODUCER))
        reviewer = users.create_user("client", is_staff=True)
        reviewer.groups.add(Group.objects.get(name=CLIENT_REVIEWER))
        ClientMembership.objects.create(user=reviewer, client=client)
        producer = users.get(pk=producer.pk)
        review_round = round_open(
            brief=brief, versions=[master], stage=ReviewRound.Stage.CLIENT, opened_by=producer, reviewers=[reviewer]
        )
        decision_record(review_round=review_round, version=master, verdict=Decision.Verdict.APPROVE, reviewer=reviewer)
        presets = list(ChannelPreset.objects.filter(active=True).order_by("position"))

        # Floor and ours alternate, so drift in the machine's speed falls on both; the medians are compared.
        floors, runs = [], []
        for _ in range(args.repeats):
            floors.append(_floor(data=data, presets=presets, render=render, threads=settings.SEED_DELIVERY_THREADS))
            timers = [
                Timer(deliveries, "_variants_sign"),
                Timer(signing, "sign_to_temp"),
                *(Timer(signing, name) for name in ("ingredient_archive", "training_mining")),
                *(
                    Timer(deliveries, name)
                    for name in (
                        "lineage_summary",
                        "lineage_carried",
                        "chain_actions",
                        "input_ingredients",
                        "stamp_build",
                        "approval_attestation",
                    )
                ),
            ]
            delivery = deliveries.delivery_create(
                version=master,
                presets=presets,
                created_by=producer,
                override_reason="benchmark: QC is measured, not enforced",
            )
            started = time.perf_counter()
            outcome = deliveries.delivery_execute(delivery_id=delivery.pk)
            seconds = time.perf_counter() - started
            for timer in timers:
                timer.restore()
            delivery.refresh_from_db()
            if outcome != "succeeded" or delivery.state != Delivery.State.SUCCEEDED:
                raise SystemExit(f"delivery {outcome}: {delivery.error}")
            runs.append(
                (seconds, timers[0].seconds, timers[1].seconds, floors[-1][1], sum(t.seconds for t in timers[2:]))
            )
        floor = statistics.median(seconds for seconds, _ in floors)
        ours, stamp_and_sign, signing, plain_encode, lineage_steps = sorted(runs)[len(runs) // 2]
        # Wall-clock: the variants' encode-stamp-sign pass less the same encodes without provenance on as many threads,
        # plus every step that exists only for provenance and runs on its own (summary, actions, ingredients, approval).
        provenance_seconds = max(stamp_and_sign - plain_encode, 0.0) + lineage_steps
        square = delivery.items.get(preset__slug="square")
        unsigned = square.size - square.manifest_bytes
        print(
            f"delivery of a {args.size}² master ({len(data) / 1e6:.1f} MB PNG) to {len(presets)} presets, "
            f"median of {args.repeats} alternating runs, {settings.SEED_DELIVERY_THREADS} threads each"
        )
        print(
            f"  Pillow floor (decode once, crop+resize, JPEG q90): {floor * 1000:.0f} ms "
            f"(runs: {', '.join(f'{seconds * 1000:.0f}' for seconds, _ in floors)})"
        )
        print(f"  Seed delivery task: {ours * 1000:.0f} ms (runs: {', '.join(f'{run[0] * 1000:.0f}' for run in runs)})")
        print(
            f"  provenance, wall-clock: encode+EXIF/XMP+C2PA pass {stamp_and_sign * 1000:.0f} ms "
            "vs the same encodes plain "
            f"{plain_encode * 1000:.0f} ms on {settings.SEED_DELIVERY_THREADS} threads (signing with read-back "
            f"{signing * 1000:.0f} ms summed over threads), summary/actions/ingredient archives/approval "
            f"{lineage_steps * 1000:.0f} ms"
        )
        print(f"  square 1080² JPEG: {unsigned} bytes before provenance, +{square.manifest_bytes} bytes EXIF+XMP+C2PA")
        print(
            f"RESULT delivery ours/floor = {ours / floor:.2f}x (target <= 1.0x); provenance share = "
            f"{provenance_seconds / ours * 100:.1f} % (target <= 10 %); manifest bytes = "
            f"{square.manifest_bytes / unsigned * 100:.1f} % of a 1080² JPEG (target <= 5 %)"
        )
        result_print(
            name="delivery",
            ratio=ours / floor,
            meaning="Seed delivery task / Pillow floor on the same threads",
            target="<= 1.0x; provenance <= 10 % t, 5 % B",
            met=ours / floor <= 1.0 and provenance_seconds / ours <= 0.10 and square.manifest_bytes / unsigned <= 0.05,
            details=f"provenance {provenance_seconds / ours * 100:.1f} % of time, "
            f"{square.manifest_bytes / unsigned * 100:.1f} % of a 1080² JPEG",
        )


if __name__ == "__main__":
    main()
