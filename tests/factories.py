"""Small builders for test data, going through the real services and models."""

from __future__ import annotations

import hashlib
import io
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import connection, transaction
from PIL import Image
from rest_framework.test import APIClient

from assets.models import Blob, Brief, ClientMembership, Derivation, Generated, Phase, Used, Version
from assets.services.blobs import StagedFile
from assets.services.briefs import brief_create, campaign_create, client_create


def image_bytes(*, size=(32, 32), colour=(254, 44, 84), image_format="PNG", **save_kwargs) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=image_format, **save_kwargs)
    return buffer.getvalue()


def staged_bytes(data: bytes) -> StagedFile:
    """Bytes written to the scratch space and hashed, as the upload path stages them; the caller removes the file."""
    staging = Path(settings.SEED_STAGING_DIR)
    staging.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=staging, prefix="test-", delete=False) as handle:
        handle.write(data)
    return StagedFile(path=Path(handle.name), sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def image_file(name="image.png", **kwargs) -> ContentFile:
    return ContentFile(image_bytes(**kwargs), name=name)


def make_brief(*, client_name="Alice Studio", title="Hero", **kwargs) -> Brief:
    client = client_create(name=client_name)
    campaign = campaign_create(client=client, name="Launch")
    defaults = {"palette": ["#FE2C54", "#00E0FF", "#FFD500"], "aspect": "9:16", "channels": ["instagram"]}
    return brief_create(campaign=campaign, title=title, **{**defaults, **kwargs})


def shared_blob() -> Blob:
    """One blob row for graph-shape tests, where pixels do not matter."""
    return Blob.objects.get_or_create(sha256="0" * 64, defaults={"size": 1, "media_type": "image/png"})[0]


def derive(
    *,
    brief: Brief,
    parents: list[Version] = (),
    blob: Blob | None = None,
    op="import",
    size: tuple[int, int] = (1, 1),
) -> Version:
    """A version derived from `parents` with real derivation, used and generated rows."""
    derivation = Derivation.objects.create(brief=brief, op=op, phase=Phase.PRODUCTION, state=Derivation.State.SUCCEEDED)
    Used.objects.bulk_create(
        Used(derivation=derivation, role=Used.Role.PARENT, position=i, version=parent)
        for i, parent in enumerate(parents)
    )
    version = Version.objects.create(
        brief=brief, blob=blob or shared_blob(), width=size[0], height=size[1], format="PNG"
    )
    Generated.objects.create(derivation=derivation, version=version)
    return version


def chain(*, brief: Brief, length: int) -> list[Version]:
    versions = [derive(brief=brief)]
    for _ in range(length - 1):
        versions.append(derive(brief=brief, parents=[versions[-1]]))
    return versions


def member(username, group, client=None):
    """A staff user in a role group (and a client's membership for client reviewers)."""
    user = get_user_model().objects.create_user(
        username, email=f"{username}@example.test", password=f"{username}-pass-123", is_staff=True
    )
    user.groups.add(Group.objects.get(name=group))
    if client is not None:
        ClientMembership.objects.create(user=user, client=client)
    return get_user_model().objects.get(pk=user.pk)  # fresh permission cache


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@contextmanager
def with_triggers_off():
    """What only the database's owner can do: write past the append-only triggers (tests of tamper detection)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        yield
