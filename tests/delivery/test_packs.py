import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from assets.access import briefs_visible_to
from assets.models import Brief, Client, Derivation, Version
from assets.selectors import lineage_graph
from assets.services.packs import pack_export, pack_import
from generation.reproduce import version_reproduce
from generation.services.finishing import upscale_create


def test_a_pack_recreates_the_chain_and_reproduce_works_on_it(generated, run_jobs, tmp_path, capsys):
    with run_jobs():
        derivation = upscale_create(version=generated, target_width=100, target_height=100)
    derivation.refresh_from_db()
    upscaled = derivation.generated.get().version
    pack = tmp_path / "pack.zip"
    call_command("export_pack", str(upscaled.pk), "--output", str(pack), "--with-weights")
    exported = json.loads(capsys.readouterr().out)
    assert exported["derivations"] == 2 and exported["with_weights"]
    with zipfile.ZipFile(pack) as archive:
        manifest = json.loads(archive.read("pack.json"))
        assert all(f"blobs/{sha}" in archive.namelist() for sha in manifest["blobs"])
    assert {w["kind"] for w in manifest["weights"]} == {"base", "lora", "upscaler"}
    with pytest.raises(CommandError, match="never overwritten"):
        call_command("export_pack", str(upscaled.pk), "--output", str(pack))

    call_command("import_pack", str(pack))
    imported = Version.objects.get(pk=json.loads(capsys.readouterr().out)["version_id"])
    assert imported.pk != upscaled.pk and imported.blob_id == upscaled.blob_id
    assert imported.brief.title == upscaled.brief.title
    assert imported.brief.campaign.client != upscaled.brief.campaign.client
    original_ops = [d.op for d in lineage_graph(version=upscaled).chain()]
    copy_graph = lineage_graph(version=imported)
    assert [d.op for d in copy_graph.chain()] == original_ops == ["txt2img", "upscale"]
    assert copy_graph.chain()[0].environment == lineage_graph(version=upscaled).chain()[0].environment
    assert version_reproduce(version=imported).verdict == "bit_identical"


def test_a_damaged_or_foreign_archive_is_refused_with_nothing_written(tmp_path, db):
    bogus = tmp_path / "bogus.zip"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(CommandError, match="not a readable zip"):
        call_command("import_pack", str(bogus))
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("pack.json", json.dumps({"format": "something-else"}))
    with pytest.raises(CommandError, match="not a Seed reproduction pack"):
        call_command("import_pack", str(foreign))
    assert not Derivation.objects.exists() and not Version.objects.exists()


def test_a_pack_never_joins_a_client_of_the_same_name(cast, tmp_path):
    """Another studio's "Aurora" is not ours: its brief must not land where Dana, Aurora's reviewer, sees it."""
    aurora = cast["brief_a"].campaign.client
    pack = tmp_path / "aurora.zip"
    pack_export(version=cast["version_a"], path=pack)
    aurora_briefs = set(Brief.objects.filter(campaign__client=aurora))

    first, second = pack_import(path=pack), pack_import(path=pack)

    clients = {first.brief.campaign.client, second.brief.campaign.client}
    assert len(clients) == 2 and aurora not in clients
    assert all(client.name.startswith("Aurora (imported") for client in clients)
    assert set(Brief.objects.filter(campaign__client=aurora)) == aurora_briefs
    assert not briefs_visible_to(user=cast["dana"]).filter(pk__in=[first.brief_id, second.brief_id]).exists()
    assert Client.objects.filter(name="Aurora").get() == aurora
