import json
import os

import pytest
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError

from assets.models import Blob
from assets.services.blobs import scratch_sweep
from assets.services.briefs import reference_create
from tests.assets.conftest import files_under
from tests.factories import image_file, make_brief

pytestmark = pytest.mark.django_db


def test_blob_is_written_once_and_never_overwritten(media_root):
    brief = make_brief()
    reference = reference_create(brief=brief, source=image_file())
    path = storages["blobs"].path(reference.blob.storage_name)
    first_inode = os.stat(path).st_ino
    reference_create(brief=make_brief(client_name="Other", title="Other"), source=image_file())
    assert os.stat(path).st_ino == first_inode
    assert Blob.objects.count() == 1
    assert not any(".incoming-" in name for name in files_under(media_root))


def test_storage_save_with_an_existing_name_keeps_the_original_bytes(media_root):
    from django.core.files.base import ContentFile

    storage = storages["blobs"]
    storage.save("ab/cd/name", ContentFile(b"original"))
    assert storage.save("ab/cd/name", ContentFile(b"attacker")) == "ab/cd/name"
    assert storage.open("ab/cd/name").read() == b"original"


def test_verify_storage_reports_changed_and_missing_blobs(media_root, capsys):
    brief = make_brief()
    changed = reference_create(brief=brief, source=image_file(colour=(1, 1, 1)))
    missing = reference_create(brief=brief, source=image_file(colour=(2, 2, 2)))
    intact = reference_create(brief=brief, source=image_file(colour=(3, 3, 3)))
    call_command("verify_storage")
    assert "all blobs match" in capsys.readouterr().out

    storage = storages["blobs"]
    with open(storage.path(changed.blob.storage_name), "r+b") as handle:
        handle.seek(40)
        flipped = handle.read(1)[0] ^ 0xFF
        handle.seek(40)
        handle.write(bytes([flipped]))
    storage.delete(missing.blob.storage_name)
    with pytest.raises(CommandError, match="1 missing, 1 mismatched"):
        call_command("verify_storage", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["missing"] == [missing.blob_id]
    assert [item["sha256"] for item in report["mismatched"]] == [changed.blob_id]
    assert report["checked"] == 3 and intact.blob_id not in json.dumps(report)


def test_scratch_sweep_removes_only_what_no_live_job_can_own(media_root, settings):
    staging = media_root / "staging"
    staging.mkdir(parents=True)
    incoming = media_root / "blobs" / "ab" / "cd"
    incoming.mkdir(parents=True)
    old_scratch, fresh_scratch = staging / "gen-old.png", staging / "upload-fresh"
    old_incoming, kept_blob = incoming / ".incoming-x1", incoming / ("ab" * 32)
    for path in (old_scratch, fresh_scratch, old_incoming, kept_blob):
        path.write_bytes(b"x")
    hour_ago = os.path.getmtime(fresh_scratch) - 3600
    for path in (old_scratch, old_incoming, kept_blob):
        os.utime(path, (hour_ago, hour_ago))
    assert scratch_sweep(older_than_seconds=1800) == 2
    assert sorted(files_under(media_root) + [str(p.relative_to(media_root)) for p in staging.iterdir()]) == sorted(
        [f"blobs/ab/cd/{'ab' * 32}", "staging/upload-fresh"]
    )


@pytest.mark.django_db(transaction=True)
def test_a_discard_waits_for_a_transaction_that_found_the_bytes_stored(media_root):
    """A failed writer's discard must not remove a file another transaction is about to commit a row for."""
    import threading

    from django.core.files.base import ContentFile
    from django.db import connection, transaction

    from assets.models import blob_storage_name
    from assets.services.blobs import blob_discard, blob_store
    from tests.factories import image_bytes, staged_bytes

    staged = staged_bytes(image_bytes(size=(12, 12)))
    name = blob_storage_name(staged.sha256)
    storages["blobs"].save(
        name, ContentFile(staged.path.read_bytes())
    )  # written by a transaction that then rolled back
    stored, go, outcome = threading.Event(), threading.Event(), {}

    def storer():
        try:
            with transaction.atomic():
                outcome["created"] = blob_store(staged=staged, media_type="image/png")[1]
                stored.set()
                go.wait(timeout=30)
        finally:
            connection.close()

    def discarder():
        try:
            blob_discard(sha256=staged.sha256)
        finally:
            connection.close()

    threads = [threading.Thread(target=storer), threading.Thread(target=discarder)]
    threads[0].start()
    assert stored.wait(timeout=30)
    threads[1].start()
    threads[1].join(timeout=1.0)
    assert threads[1].is_alive(), "the discard must wait for the storing transaction"
    go.set()
    for thread in threads:
        thread.join(timeout=30)
    staged.path.unlink()
    assert outcome["created"] is False
    assert Blob.objects.filter(sha256=staged.sha256).exists() and storages["blobs"].exists(name)
