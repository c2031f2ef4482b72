"""A camera's MPO JPEG (a primary image and its preview frames) comes in as the JPEG it is, its bytes and so its C2PA
manifest untouched, while animations stay refused; a Midjourney download comes in with its prompt, parameters, job id
and author, recorded as a recipe Seed cannot run, and is found by all of them. Every file is made here."""

import hashlib
import io
import json

import piexif
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import call_command
from PIL import Image

from assets.c2pa_reading import store_read
from assets.errors import ApplicationError
from assets.images import image_inspect
from assets.models import Used, Version
from assets.selectors import versions_matching_text
from assets.services.blobs import blob_storage_name
from assets.services.recipe_imports import images_import
from delivery.keys import dev_ca_create
from delivery.selectors import file_verify
from tests.delivery.test_verify_ingredients import c2pa_sign
from tests.factories import make_brief

pytestmark = pytest.mark.django_db

CAPTURE = [
    {"action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}
]
JOB_ID = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
DESCRIPTION = (
    "a red fox in snow, soft morning light --ar 4:5 --v 6.1 --sref https://s.mj.run/abc 123 --stylize 250 "
    f"--chaos 12 --no people, fences --style raw --seed 4242 --q .5 --tile --mood calm Job ID: {JOB_ID}"
)


def mpo_bytes() -> bytes:
    """A camera JPEG as Nikon writes it: the primary image, then a smaller preview frame (MPF)."""
    primary = Image.linear_gradient("L").convert("RGB").resize((96, 64))
    preview = Image.new("RGB", (48, 32), (0, 0, 255))
    buffer = io.BytesIO()
    primary.save(buffer, format="MPO", save_all=True, append_images=[preview], quality=90)
    return buffer.getvalue()


@pytest.fixture
def camera_mpo(tmp_path) -> bytes:
    """An MPO signed in the camera by its maker's CA, which is not among our trust anchors."""
    maker = dev_ca_create(folder=tmp_path / "camera-maker", organisation="Camera maker")
    signed = c2pa_sign(mpo_bytes(), keys=maker, title="DSC_0001.JPG", actions=CAPTURE)
    with Image.open(io.BytesIO(signed)) as image:
        assert (image.format, image.n_frames) == ("MPO", 2), "signing keeps the preview frame"
    return signed


def _stored(version: Version) -> bytes:
    with storages["blobs"].open(blob_storage_name(version.blob_id), "rb") as handle:
        return handle.read()


def test_an_mpo_is_a_jpeg_and_an_animation_is_still_refused(tmp_path):
    path = tmp_path / "DSC_0001.JPG"
    path.write_bytes(mpo_bytes())
    info = image_inspect(path=path)
    assert (info.format, info.media_type, info.width, info.height) == ("JPEG", "image/jpeg", 96, 64)
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue")]
    animated = tmp_path / "anim.webp"
    frames[0].save(animated, format="WEBP", save_all=True, append_images=frames[1:])
    with pytest.raises(ApplicationError, match="animated images are not accepted"):
        image_inspect(path=animated)


def test_the_upload_api_keeps_an_mpos_bytes_and_its_manifest(api, camera_mpo):
    brief = make_brief()
    upload = io.BytesIO(camera_mpo)
    upload.name = "DSC_0001.JPG"
    response = api.post("/api/versions/import/", {"brief": brief.pk, "image": upload}, format="multipart")
    assert response.status_code == 201, response.content
    version = Version.objects.get(pk=response.json()["id"])
    assert (version.format, version.blob.media_type, version.width, version.height) == ("JPEG", "image/jpeg", 96, 64)
    stored = _stored(version)
    assert stored == camera_mpo and version.blob_id == hashlib.sha256(camera_mpo).hexdigest()
    assert store_read(data=stored, media_type="image/jpeg", trust_anchors=None)["state"] == "valid_untrusted"


def test_import_images_takes_an_mpo_and_refuses_one_changed_after_signing(camera_mpo, tmp_path):
    brief = make_brief()
    good, bad = tmp_path / "DSC_0001.JPG", tmp_path / "DSC_0002.JPG"
    good.write_bytes(camera_mpo)
    changed = bytearray(camera_mpo)
    changed[-100] ^= 0x01  # inside the preview frame, which the manifest's hash covers as well
    bad.write_bytes(bytes(changed))
    out = io.StringIO()
    call_command("import_images", str(good), str(bad), "--brief", str(brief.pk), "--json", stdout=out)
    imported, refused = json.loads(out.getvalue())
    assert imported["imported"] and imported["generator"] is None
    assert _stored(Version.objects.get(pk=imported["version"])) == camera_mpo
    assert not refused["imported"] and "altered after signing" in refused["error"]


def test_verify_reads_an_mpo_as_a_jpeg_and_finds_it_once_imported(camera_mpo):
    result = file_verify(data=camera_mpo, name="DSC_0001.JPG")
    assert (result.manifest, result.media_type, result.match) == ("valid_untrusted", "image/jpeg", "none")
    assert "signingCredential.untrusted" in result.manifest_codes
    brief = make_brief()
    (report,) = images_import(brief=brief, sources=[ContentFile(camera_mpo, name="DSC_0001.JPG")])
    result = file_verify(data=camera_mpo)
    assert (result.match, result.version_id) == ("exact", report["version"])


def midjourney_jpeg(*, description: str = DESCRIPTION, author: str = "renée", name="fox.jpg") -> ContentFile:
    exif = piexif.dump(
        {
            "0th": {
                piexif.ImageIFD.ImageDescription: description.encode("utf-8"),
                piexif.ImageIFD.Artist: author.encode("utf-8"),
            }
        }
    )
    buffer = io.BytesIO()
    Image.new("RGB", (40, 50), (200, 90, 30)).save(buffer, format="JPEG", exif=exif, quality=90)
    return ContentFile(buffer.getvalue(), name=name)


def midjourney_webp_xmp(*, description: str, author: str, name="fox.webp") -> ContentFile:
    """A download that carries its description in XMP only (dc:description, dc:creator), as a re-saved file may."""
    from xml.sax.saxutils import escape

    xmp = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(description)}</rdf:li></rdf:Alt>'
        f"</dc:description><dc:creator><rdf:Seq><rdf:li>{escape(author)}</rdf:li></rdf:Seq></dc:creator>"
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    buffer = io.BytesIO()
    Image.new("RGB", (40, 50), (30, 90, 200)).save(buffer, format="WEBP", xmp=xmp.encode("utf-8"))
    return ContentFile(buffer.getvalue(), name=name)


def test_a_midjourney_download_is_recorded_as_a_recipe_seed_cannot_run():
    brief = make_brief()
    (report,) = images_import(brief=brief, sources=[midjourney_jpeg()])
    assert report["imported"] and report["generator"] == "midjourney"
    assert report["recovered"] == ["author", "job_id", "negative_prompt", "options", "prompt"]
    version = Version.objects.get(pk=report["version"])
    derivation = version.generated_by.derivation
    params = derivation.params
    assert (params["job_id"], params["author"]) == (JOB_ID, "renée")
    assert params["options"] == {
        "aspect": "4:5",
        "version": "6.1",
        "sref": ["https://s.mj.run/abc", "123"],
        "stylize": 250,
        "chaos": 12,
        "no": "people, fences",
        "style": "raw",
        "seed": 4242,
        "quality": 0.5,
        "tile": True,
        "mood": "calm",
    }
    assert "Midjourney's servers" in params["not_reproducible"] and "seed" not in params
    prompt = derivation.used.get(role=Used.Role.PROMPT).prompt
    assert (prompt.text, prompt.negative_text) == ("a red fox in snow, soft morning light", "people, fences")
    assert params["metadata"]["Description"] == DESCRIPTION


def test_a_midjourney_xmp_description_with_aliases_and_an_em_dash_is_read():
    description = (
        "https://s.mj.run/ref1 a café at dusk \u2014ar 16:9 --s 100 --c 5 --niji 6 --p abc12 "
        f"--cref https://s.mj.run/c1 --cw 50 --sw 300 --weird 20 Job ID: {JOB_ID.upper()}"
    )
    (report,) = images_import(brief=make_brief(), sources=[midjourney_webp_xmp(description=description, author="Zoë")])
    derivation = Version.objects.get(pk=report["version"]).generated_by.derivation
    params = derivation.params
    assert params["job_id"] == JOB_ID and params["author"] == "Zoë"
    assert derivation.used.get(role=Used.Role.PROMPT).prompt.text == "a café at dusk"
    assert params["options"] == {
        "aspect": "16:9",
        "stylize": 100,
        "chaos": 5,
        "niji": "6",
        "personalize": ["abc12"],
        "cref": ["https://s.mj.run/c1"],
        "cw": 50,
        "sw": 300,
        "weird": 20,
        "image_prompts": ["https://s.mj.run/ref1"],
    }


def test_a_description_without_a_job_id_is_no_midjourney_recipe_and_a_nul_is_refused():
    brief = make_brief()
    plain, hostile = images_import(
        brief=brief,
        sources=[
            midjourney_jpeg(description="holiday snap --not a flag", name="plain.jpg"),
            midjourney_jpeg(description=f"a fox\x00 --ar 1:1 Job ID: {JOB_ID}", name="nul.jpg"),
        ],
    )
    assert plain["imported"] and plain["generator"] is None
    assert not hostile["imported"] and "text cannot carry" in hostile["error"]


def test_prompt_parameters_job_id_and_author_find_the_download(api):
    brief = make_brief()
    images_import(brief=brief, sources=[midjourney_jpeg(), midjourney_jpeg(description="x", name="other.jpg")])
    fox = Version.objects.get(label="fox.jpg")
    for words in ("red fox", JOB_ID, '"stylize 250"', "s.mj.run/abc", "renée", "fences"):
        assert list(versions_matching_text(versions=Version.objects.all(), text=words, internal=True)) == [fox], words
    found = api.get("/api/versions/", {"q": f"sref 123 {JOB_ID}"})
    assert [row["id"] for row in found.json()["results"]] == [fox.pk]


def test_regenerating_a_midjourney_image_is_refused_with_the_reason(api):
    (report,) = images_import(brief=make_brief(), sources=[midjourney_jpeg()])
    response = api.post(f"/api/versions/{report['version']}/regenerate-import/")
    body = response.json()
    assert response.status_code == 400 and body["extra"]["code"] == "not_reproducible"
    assert "Midjourney's models run only on Midjourney's servers" in body["message"]
