"""Seeds work into and reads the state of a live Seed install, as separate processes would see it.

    python -m tests.reliability.driver seed --jobs 40 --label run-1
    python -m tests.reliability.driver report --label run-1

Runs against whatever DATABASE_URL / SEED_MEDIA_ROOT the environment names (the reliability tests
point it at their own Postgres and media root). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()


def seed(*, jobs: int, label: str) -> dict:
    """Half tiny txt2img generations, half finishing steps on an imported picture, all queued on the broker."""
    from django.db import transaction

    from assets.services.briefs import brief_create, campaign_create, client_create
    from assets.services.versions import version_import
    from generation.requests import GenerationRequest
    from generation.services.finishing import finishing_create
    from generation.services.jobs import generation_job_create
    from generation.services.models import tiny_paths_register
    from generation.tiny import tiny_models_write
    from tests.factories import image_file

    folder = Path(os.environ["SEED_MEDIA_ROOT"]) / "tiny-models"
    tiny = tiny_paths_register(paths=tiny_models_write(folder=folder))
    client = client_create(name=f"Reliability {label}")
    brief = brief_create(
        campaign=campaign_create(client=client, name=label),
        title=label,
        palette=["#FE2C54"],
        aspect="1:1",
        channels=["web"],
    )
    picture = version_import(brief=brief, source=image_file("start.png", size=(64, 64), colour=(200, 90, 30)))
    params = {"steps": 4, "cfg": 7.0, "width": 64, "height": 64, "sampler": "dpmpp_2m_karras", "batch_size": 1}
    for index in range(jobs):
        with transaction.atomic():
            if index % 2 == 0:
                generation_job_create(
                    request=GenerationRequest(
                        brief=brief,
                        op="txt2img",
                        base_model=tiny["base"],
                        prompt_text=f"a lemon, take {index}",
                        params={**params, "seed": 1000 + index},
                    ),
                )
            else:
                finishing_create(
                    version=picture,
                    op="grade",
                    params={
                        "exposure": round(index / jobs - 0.5, 4),
                        "contrast": 1.1,
                        "saturation": 1.0,
                        "temperature": 0.0,
                    },
                )
    return {"brief": brief.pk, "jobs": jobs}


def report(*, label: str) -> dict:
    """What a careful operator checks after a bad night: every job once, nothing stuck, nothing orphaned."""
    from django.core.files.storage import storages
    from django.db.models import Count
    from django_q.conf import Conf
    from django_q.models import OrmQ

    from assets.models import Blob, Derivation, Generated, Version
    from assets.services.queues import queue_broker, queue_broker_name

    derivations = Derivation.objects.filter(brief__title=label).exclude(op="import")
    states = dict(derivations.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    outputs = dict(
        Generated.objects.filter(derivation__in=derivations)
        .values_list("derivation_id")
        .annotate(n=Count("id"))
        .values_list("derivation_id", "n")
    )
    expected = dict(derivations.values_list("pk", "params__batch_size"))
    wrong_outputs = {
        pk: outputs.get(pk, 0)
        for pk, state in derivations.values_list("pk", "state")
        if state == Derivation.State.SUCCEEDED and outputs.get(pk, 0) != (expected[pk] or 1)
    }
    root = Path(storages["blobs"].location)
    files = {path.name for path in root.rglob("*") if path.is_file() and not path.name.startswith(".")}
    temp_files = [path.name for path in root.rglob(".*") if path.is_file()]
    rows = set(Blob.objects.values_list("sha256", flat=True))
    return {
        "derivations": derivations.count(),
        "states": states,
        "not_finished": list(derivations.filter(state__in=["queued", "running"]).values_list("pk", flat=True)),
        "failed": list(derivations.filter(state="failed").values_list("pk", "error")),
        "wrong_output_counts": wrong_outputs,
        "versions": Version.objects.filter(generated_by__derivation__in=derivations).count(),
        "retried": derivations.filter(attempts__gt=1).count(),
        "retried_ids": list(derivations.filter(attempts__gt=1).values_list("pk", flat=True)),
        "orphan_blob_files": sorted(files - rows),
        "blob_rows_without_file": sorted(rows - files),
        "blob_temp_files": temp_files,
        "queued_tasks": OrmQ.objects.count()
        if queue_broker_name(list_key=Conf.CLUSTER_NAME) == "orm"
        else queue_broker().queue_size(),
    }


def token(*, username: str) -> dict:
    from django.contrib.auth import get_user_model

    from assets.services.tokens import api_token_issue

    user, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": True, "is_superuser": True}
    )
    return {"token": api_token_issue(user=user)[1]}


def chain_step(
    *, step: str, label: str | None, derivation: int | None, producer: int | None, client: int | None, ids: str | None
) -> dict:
    """One step of tests.reliability.chain, queued from a host that runs no worker (as the web app would)."""
    from django.contrib.auth import get_user_model

    from generation.services.models import tiny_paths_register
    from generation.tiny import tiny_models_write
    from tests.reliability import chain

    if step == "seed":
        tiny = tiny_paths_register(paths=tiny_models_write(folder=Path(os.environ["SEED_MEDIA_ROOT"]) / "tiny-models"))
        people = chain.chain_people(label=label)
        return {
            "generated": chain.chain_generate(brief=people["brief"], base=tiny["base"], producer=people["producer"]),
            "base_sha256": tiny["base"].sha256,
            "producer": people["producer"].pk,
            "client": people["client"].pk,
        }
    if step == "report":
        return chain.chain_report(**json.loads(ids))
    version = chain.output_of(derivation)
    if step == "grade":
        return {"graded": chain.chain_grade(version=version)}
    if step == "upscale":
        return {"upscaled": chain.chain_upscale(version=version)}
    if step == "deliver":
        users = get_user_model().objects
        return {
            "delivery": chain.chain_deliver(
                version=version, producer=users.get(pk=producer), client=users.get(pk=client)
            )
        }
    return {"reproduction": chain.chain_reproduce(version=version)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    seeding = commands.add_parser("seed")
    seeding.add_argument("--jobs", type=int, required=True)
    seeding.add_argument("--label", required=True)
    reading = commands.add_parser("report")
    reading.add_argument("--label", required=True)
    commands.add_parser("token").add_argument("--user", required=True)
    stepping = commands.add_parser("chain")
    stepping.add_argument("step", choices=["seed", "grade", "upscale", "deliver", "reproduce", "report"])
    stepping.add_argument("--label")
    stepping.add_argument("--derivation", type=int)
    stepping.add_argument("--producer", type=int)
    stepping.add_argument("--client", type=int)
    stepping.add_argument("--ids")
    options = parser.parse_args(argv)
    _setup()
    if options.command == "chain":
        result = chain_step(
            step=options.step,
            label=options.label,
            derivation=options.derivation,
            producer=options.producer,
            client=options.client,
            ids=options.ids,
        )
    elif options.command == "seed":
        result = seed(jobs=options.jobs, label=options.label)
    elif options.command == "report":
        result = report(label=options.label)
    else:
        result = token(username=options.user)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
