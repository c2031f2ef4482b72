import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from assets.models import Generated, Used, Version
from generation.reproduce import reproduction_record, version_reproduce
from generation.requests import GenerationRequest, LoraSpec
from generation.services.jobs import generation_job_create
from tests.factories import make_brief
from tests.generation.conftest import FAST


def _job_outputs(job):
    return [
        edge.version for batch in job.batches.order_by("index") for edge in batch.derivation.generated.order_by("index")
    ]


@pytest.fixture
def chain(tiny, run_jobs):
    """A batch of three, then an img2img of its second image: a two-step lineage."""
    brief = make_brief()
    with run_jobs():
        batch = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can at dusk",
                loras=[LoraSpec(weights=tiny["lora_b"], weight=0.7)],
                params={**FAST, "seed": 77, "batch_size": 3},
            ),
        )
    outputs = _job_outputs(batch)
    with run_jobs():
        edit = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="img2img",
                base_model=tiny["base"],
                init=outputs[1],
                prompt_text="warmer",
                params={**FAST, "seed": 5, "batch_size": 1, "strength": 0.5},
            ),
        )
    return {"batch": outputs, "edit": _job_outputs(edit)[0]}


@pytest.mark.django_db
def test_each_batch_image_regenerates_alone_bit_identically(chain):
    for version in chain["batch"]:
        result = version_reproduce(version=version)
        assert result.verdict == "bit_identical", result.as_dict()
        assert result.sha256 == version.blob_id and result.distance == 0.0 and result.fingerprint_diff == []


@pytest.mark.django_db
def test_the_whole_chain_is_rerun_and_a_thread_change_is_named(chain):
    result = version_reproduce(version=chain["edit"])
    assert result.verdict == "bit_identical"
    assert [step["op"] for step in result.steps] == ["txt2img", "img2img"]
    assert result.steps[0]["outputs"] == [chain["batch"][1].pk]  # siblings in the batch are not re-made
    recorded_threads = chain["edit"].generated_by.derivation.environment["threads"]
    other = version_reproduce(version=chain["edit"], threads=recorded_threads + 1)
    threads = [item for item in other.fingerprint_diff if item["field"] == "threads"]
    assert threads == [{"field": "threads", "recorded": recorded_threads, "current": recorded_threads + 1}]
    # More threads split the same sums differently: the bytes may change, the picture does not.
    assert other.verdict in ("bit_identical", "perceptual_match"), other.as_dict()


@pytest.mark.django_db
def test_record_keeps_the_reproduction_as_a_linked_version(chain):
    result = version_reproduce(version=chain["edit"])
    copy = reproduction_record(reproduction=result)
    assert copy.blob_id == chain["edit"].blob_id and copy.pk != chain["edit"].pk
    assert copy.generated_by.role == Generated.Role.REPRODUCTION
    derivation = copy.generated_by.derivation
    assert derivation.op == "reproduce" and derivation.params["verdict"] == "bit_identical"
    assert Used.objects.get(derivation=derivation).version == chain["edit"]


@pytest.mark.django_db
def test_a_missing_model_file_is_a_clear_error_naming_the_sha256(chain, tiny):
    storages["blobs"].delete(tiny["lora_b"].blob.storage_name)
    with pytest.raises(CommandError, match=f"sha256 {tiny['lora_b'].sha256}"):
        call_command("reproduce", str(chain["edit"].pk), "--json")


def _reproduce_in_a_process(version, media_root, **environ) -> dict:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "SEED_MEDIA_ROOT": str(media_root),
        "SEED_MODEL_CACHE": str(media_root / "model-cache-cli"),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        **environ,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "reproduce", str(version.pk), "--json"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.mark.django_db(transaction=True)
def test_reproduce_in_a_separate_process_is_bit_identical(chain, media_root):
    version = chain["edit"]
    report = _reproduce_in_a_process(version, media_root)
    assert report["verdict"] == "bit_identical", report
    assert report["reproduced_sha256"] == report["recorded_sha256"] == version.blob_id
    assert report["fingerprint_diff"] == []
    assert not Version.objects.filter(label__startswith="reproduction").exists()  # nothing written without --record


@pytest.mark.django_db(transaction=True)
def test_other_cpu_kernels_give_a_perceptual_match_and_name_what_differs(chain, media_root):
    """The same recipe on torch's portable kernels instead of this CPU's vector ones: other bytes, the same picture."""
    version = chain["edit"]
    recorded = version.generated_by.derivation.environment["cpu_capability"]
    assert recorded != "DEFAULT"
    report = _reproduce_in_a_process(version, media_root, ATEN_CPU_CAPABILITY="default")
    assert report["verdict"] == "perceptual_match", report
    assert report["reproduced_sha256"] != report["recorded_sha256"] and report["distance"] <= 4
    assert report["fingerprint_diff"] == [{"field": "cpu_capability", "recorded": recorded, "current": "DEFAULT"}]


@pytest.mark.django_db
def test_recorded_pixels_the_recipe_does_not_make_are_reported_as_drifted(chain, tmp_path):
    """A pack whose version was retouched outside Seed after it was made: the lineage is honest,
    the pixels are not its."""
    import hashlib
    import io
    import zipfile

    from PIL import Image, ImageDraw

    from assets.services.packs import pack_export, pack_import

    original = chain["batch"][0]
    pack = tmp_path / "pack.zip"
    manifest = pack_export(version=original, path=pack, with_weights=True)
    with zipfile.ZipFile(pack) as archive:
        members = {name: archive.read(name) for name in archive.namelist() if name != "pack.json"}
    with Image.open(io.BytesIO(members[f"blobs/{original.blob_id}"])) as image:
        retouched = image.convert("RGB")
    draw = ImageDraw.Draw(retouched)
    draw.rectangle([0, 0, retouched.width // 2, retouched.height], fill=(250, 250, 250))
    draw.ellipse([retouched.width // 2, 8, retouched.width - 4, retouched.height - 8], fill=(10, 10, 10))
    buffer = io.BytesIO()
    retouched.save(buffer, format="PNG")
    data, sha = buffer.getvalue(), hashlib.sha256(buffer.getvalue()).hexdigest()
    del members[f"blobs/{original.blob_id}"]
    members[f"blobs/{sha}"] = data
    manifest["blobs"].pop(original.blob_id)
    manifest["blobs"][sha] = {"size": len(data), "media_type": "image/png"}
    for row in manifest["versions"]:
        row["blob"] = sha if row["blob"] == original.blob_id else row["blob"]
    forged = tmp_path / "retouched.zip"
    with zipfile.ZipFile(forged, "w") as archive:
        archive.writestr("pack.json", json.dumps(manifest, default=str))
        for name, content in members.items():
            archive.writestr(name, content)
    result = version_reproduce(version=pack_import(path=forged))
    assert result.verdict == "drifted" and result.distance > 4, result.as_dict()
    assert result.fingerprint_diff == []  # same machine, same stack: the pixels, not the environment, differ
