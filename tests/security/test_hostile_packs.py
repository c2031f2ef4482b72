"""Hostile reproduction packs: a pack from another studio is input like an upload.

Each pack below is refused by `import_pack` with a clear CommandError, and nothing is written
anywhere: no row, no file in the media root, no file where a hostile name points.
"""

from __future__ import annotations

import hashlib
import io
import json
import stat
import uuid
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from assets.errors import ApplicationError
from assets.models import ModelWeights, Version
from assets.services.packs import pack_export
from assets.services.weights import model_weights_register
from generation.loader import weights_path
from tests.factories import image_bytes

pytestmark = pytest.mark.django_db


def _entries(pack: Path) -> tuple[dict, dict[str, bytes]]:
    with zipfile.ZipFile(pack) as archive:
        manifest = json.loads(archive.read("pack.json"))
        return manifest, {name: archive.read(name) for name in archive.namelist() if name != "pack.json"}


def _write(path: Path, manifest: dict | bytes, members: list[tuple[str, bytes]], *, deflate: bool = False) -> Path:
    compression = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr("pack.json", manifest if isinstance(manifest, bytes) else json.dumps(manifest))
        for name, data in members:
            archive.writestr(name, data)
    return path


@pytest.fixture
def honest(cast, tmp_path):
    """A genuine pack of Aurora's master: its manifest and members, to be bent by each case."""
    path = tmp_path / "honest.zip"
    pack_export(version=cast["version_a"], path=path)
    return _entries(path)


def _pwned_target() -> Path:
    return Path("/tmp") / f"seed-pwned-{uuid.uuid4().hex}"


def traversal(manifest, members, tmp_path):
    target = _pwned_target()
    key = f"../../../../../../..{target}"
    ((sha, data),) = members.items()
    manifest["blobs"][key] = manifest["blobs"].pop(sha.removeprefix("blobs/"))
    return _write(tmp_path / "p.zip", manifest, [(f"blobs/{key}", data)]), "not pack.json or blobs/<sha256>", target


def absolute_name(manifest, members, tmp_path):
    target = _pwned_target()
    ((sha, data),) = members.items()
    manifest["blobs"][str(target)] = manifest["blobs"].pop(sha.removeprefix("blobs/"))
    return _write(tmp_path / "p.zip", manifest, [(str(target), data)]), "not pack.json or blobs/<sha256>", target


def absolute_key_only(manifest, members, tmp_path):
    target = _pwned_target()
    ((sha, data),) = members.items()
    manifest["blobs"][str(target)] = manifest["blobs"][sha.removeprefix("blobs/")]
    return _write(tmp_path / "p.zip", manifest, list(members.items())), "sha256 of 64 lowercase hex", target


def zip_bomb(manifest, members, tmp_path):
    zeros = bytes(64 * 1024 * 1024)
    sha = hashlib.sha256(zeros).hexdigest()
    manifest["blobs"][sha] = {"size": len(zeros), "media_type": "image/png"}
    return (
        _write(tmp_path / "p.zip", manifest, [*members.items(), (f"blobs/{sha}", zeros)], deflate=True),
        "inflates",
        None,
    )


def duplicate_member(manifest, members, tmp_path):
    ((name, data),) = members.items()
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = _write(tmp_path / "p.zip", manifest, [(name, data), (name, image_bytes(size=(8, 8)))])
    return path, "appears twice", None


def wrong_digest(manifest, members, tmp_path):
    ((name, data),) = members.items()
    forged = bytearray(data)
    forged[-20] ^= 0xFF
    return _write(tmp_path / "p.zip", manifest, [(name, bytes(forged))]), "does not match its sha256", None


def damaged_archive(manifest, members, tmp_path):
    """The archive's own checksum fails: bytes changed inside a stored member after it was written."""
    ((name, data),) = members.items()
    path = _write(tmp_path / "p.zip", manifest, [(name, data)])
    raw = bytearray(path.read_bytes())
    middle = len(data) // 2
    raw[raw.index(data[middle - 8 : middle + 8]) + 8] ^= 0xFF
    path.write_bytes(bytes(raw))
    return path, "cannot be read from the pack", None


def missing_member(manifest, members, tmp_path):
    return _write(tmp_path / "p.zip", manifest, []), "members missing", None


def extra_member(manifest, members, tmp_path):
    extra = image_bytes(size=(9, 9))
    return (
        _write(tmp_path / "p.zip", manifest, [*members.items(), (f"blobs/{hashlib.sha256(extra).hexdigest()}", extra)]),
        "not in the manifest",
        None,
    )


def huge_json(manifest, members, tmp_path, settings):
    settings.SEED_PACK_MAX_MANIFEST_BYTES = 64 * 1024
    manifest["brief"]["notes"] = "x" * (256 * 1024)
    return _write(tmp_path / "p.zip", manifest, list(members.items()), deflate=True), "pack.json is", None


def deep_json(manifest, members, tmp_path):
    body = json.dumps(manifest).encode()[:-1] + b', "deep": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    return _write(tmp_path / "p.zip", body, list(members.items()), deflate=True), "no readable pack.json", None


def foreign_blob(manifest, members, tmp_path, cast):
    """A row naming another client's image, which this install holds but the pack does not carry."""
    manifest["versions"][0]["blob"] = cast["version_b"].blob_id
    return _write(tmp_path / "p.zip", manifest, list(members.items())), "does not carry", None


def foreign_derivation(manifest, members, tmp_path):
    manifest["generated"][0]["derivation"] = 987654
    return _write(tmp_path / "p.zip", manifest, list(members.items())), "does not define", None


def symlink_member(manifest, members, tmp_path):
    ((name, data),) = members.items()
    path = tmp_path / "p.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pack.json", json.dumps(manifest))
        link = zipfile.ZipInfo(name)
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return path, "symbolic link", None


def wrong_types(manifest, members, tmp_path):
    manifest["versions"][0]["width"] = "wide"
    return _write(tmp_path / "p.zip", manifest, list(members.items())), "versions[0].width must be int", None


def markup_as_image(manifest, members, tmp_path):
    data = b"<html><script>alert(1)</script></html>"
    sha = hashlib.sha256(data).hexdigest()
    old = next(iter(members)).removeprefix("blobs/")
    manifest["blobs"] = {sha: {"size": len(data), "media_type": "image/png"}}
    manifest["versions"][0]["blob"] = sha
    manifest["derivations"][0]["params"] = {**manifest["derivations"][0]["params"]}
    assert old != sha
    return _write(tmp_path / "p.zip", manifest, [(f"blobs/{sha}", data)]), "not an image", None


def lying_size(manifest, members, tmp_path):
    manifest["versions"][0]["width"] = 4096
    return _write(tmp_path / "p.zip", manifest, list(members.items())), "describes it as", None


def queued_derivation(manifest, members, tmp_path):
    manifest["derivations"][0]["state"] = "queued"
    return _write(tmp_path / "p.zip", manifest, list(members.items())), "state must be one of succeeded", None


CASES = {
    case.__name__: case
    for case in (
        traversal,
        absolute_name,
        absolute_key_only,
        zip_bomb,
        duplicate_member,
        wrong_digest,
        damaged_archive,
        missing_member,
        extra_member,
        huge_json,
        deep_json,
        foreign_blob,
        foreign_derivation,
        symlink_member,
        wrong_types,
        markup_as_image,
        lying_size,
        queued_derivation,
    )
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_pack_is_refused_with_nothing_written(case, honest, cast, tmp_path, settings, untouched):
    manifest, members = honest
    maker = CASES[case]
    extra = {"settings": settings} if "settings" in maker.__code__.co_varnames else {}
    extra |= {"cast": cast} if "cast" in maker.__code__.co_varnames else {}
    pack, phrase, target = maker(manifest, members, tmp_path, **extra)
    with pytest.raises(CommandError) as error:
        call_command("import_pack", str(pack), stdout=io.StringIO())
    assert phrase.lower() in str(error.value).lower(), str(error.value)
    if target is not None:
        assert not target.exists()


def test_the_honest_pack_imports(cast, tmp_path, honest):
    manifest, members = honest
    pack = _write(tmp_path / "honest-again.zip", manifest, list(members.items()))
    out = io.StringIO()
    call_command("import_pack", str(pack), stdout=out)
    imported = Version.objects.get(pk=json.loads(out.getvalue())["version_id"])
    assert imported.blob_id == cast["version_a"].blob_id and imported.brief.title.startswith("Aurora hero")


def _with_weights_file(manifest, members, tmp_path, *, name: str) -> Path:
    """The pack also carries a diffusers model with one file called `name`, its sha256 honestly made from that name."""
    data = b"bytes a hostile studio wants written somewhere"
    sha = hashlib.sha256(data).hexdigest()
    files = {name: sha}
    manifest["blobs"][sha] = {"size": len(data), "media_type": "application/octet-stream"}
    manifest["weights"].append(
        {
            "sha256": hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest(),
            "kind": "base",
            "architecture": "sd15",
            "name": "Smuggler",
            "source_name": "",
            "source_version": "",
            "size": len(data),
            "format": "diffusers",
            "blob": None,
            "files": files,
            "scale": None,
            "notes": "",
        }
    )
    return _write(tmp_path / "p.zip", manifest, [*members.items(), (f"blobs/{sha}", data)])


HOSTILE_FILE_NAMES = {
    "parent": "../../../../../../../../tmp/seed-pwned.pth",
    "inner_parent": "unet/../../x.pth",
    "absolute": "/usr/lib/python3/dist-packages/seed-pwned.pth",
    "backslash": "unet\\..\\..\\x.pth",
    "leading_backslash": "\\share\\x.pth",
    "drive": "C:/x.pth",
    "drive_relative": "C:x.pth",
    "dot_folder": ".git/hooks/pre-commit",
    "dot_file": "unet/.pth",
    "dot_segment": "unet/./x.bin",
    "empty_segment": "unet//x.bin",
    "trailing_slash": "unet/",
    "empty": "",
    "nul": "unet/x\x00.bin",
    "newline": "unet/x\n.bin",
    "delete_char": "unet/x\x7f.bin",
    "too_long": "a/" * 600 + "x.bin",
    "long_segment": "a" * 300 + ".bin",
}


@pytest.mark.parametrize("case", list(HOSTILE_FILE_NAMES))
def test_a_weights_file_name_that_could_leave_its_folder_is_refused(case, honest, tmp_path, untouched):
    manifest, members = honest
    name = HOSTILE_FILE_NAMES[case]
    pack = _with_weights_file(manifest, members, tmp_path, name=name)
    with pytest.raises(CommandError) as error:
        call_command("import_pack", str(pack), stdout=io.StringIO())
    message = str(error.value)
    assert "file name" in message and repr(name)[:40] in message, message


def test_ordinary_weights_file_names_import(honest, tmp_path):
    manifest, members = honest
    pack = _with_weights_file(manifest, members, tmp_path, name="unet/diffusion_pytorch_model.fp16.safetensors")
    call_command("import_pack", str(pack), stdout=io.StringIO())
    assert ModelWeights.objects.get(name="Smuggler").files == {
        "unet/diffusion_pytorch_model.fp16.safetensors": hashlib.sha256(
            b"bytes a hostile studio wants written somewhere"
        ).hexdigest()
    }


@pytest.mark.parametrize(
    "name", ["../../escape.pth", "unet/../../../escape.pth", "ABSOLUTE", ".pth", "unet/.hidden/x.bin"]
)
def test_the_loader_refuses_a_stored_name_that_leaves_its_folder(name, cast, media_root, tmp_path):
    """A row written before names were checked (or behind the services' back) still cannot place a link outside."""
    outside = tmp_path / "outside" / "escape.pth"
    name = str(outside) if name == "ABSOLUTE" else name
    blob = cast["version_a"].blob
    files = {name: blob.sha256}
    weights = ModelWeights.objects.create(
        sha256=hashlib.sha256(json.dumps(files).encode()).hexdigest(),
        kind="base",
        architecture="sd15",
        name="Old row",
        size=blob.size,
        format="diffusers",
        files=files,
    )
    with pytest.raises(ApplicationError, match="not a plain file name inside its folder"):
        weights_path(weights=weights)
    assert not (media_root / "escape.pth").exists() and not (media_root / "escape.pth").is_symlink()
    assert not outside.parent.exists()
    assert list((media_root / "model-cache").rglob("*")) == []


@pytest.mark.parametrize("name", ["unet\\weights.bin", "unet/x:y.bin", "unet/x\ny.bin"])
def test_a_model_folder_whose_file_names_no_pack_could_carry_is_not_registered(name, tmp_path, untouched):
    folder = tmp_path / "model"
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / "model_index.json").write_text("{}")
    (folder / name).write_bytes(b"weights")
    with pytest.raises(ApplicationError, match="file name"):
        model_weights_register(path=folder, kind="base", name="Odd names", architecture="sd15")
