import pytest
from django.db.models import ProtectedError

from assets.errors import ImmutableRowError
from assets.models import Derivation, Reference, Version
from assets.services.briefs import reference_create
from assets.services.versions import version_import
from tests.factories import image_file, make_brief

pytestmark = pytest.mark.django_db


def test_version_pixels_and_recipe_cannot_be_edited():
    version = version_import(brief=make_brief(), source=image_file())
    version.width = 999
    with pytest.raises(ImmutableRowError, match="append-only"):
        version.save()
    with pytest.raises(ImmutableRowError, match="width cannot change"):
        version.save(update_fields=["width"])
    derivation = version.generated_by.derivation
    derivation.params = {"source": "forged.png"}
    with pytest.raises(ImmutableRowError, match="params cannot change"):
        derivation.save(update_fields=["params"])


def test_labels_and_triage_can_change():
    version = version_import(brief=make_brief(), source=image_file())
    version.triage = Version.Triage.KEEP
    version.save(update_fields=["triage"])
    assert Version.objects.get(pk=version.pk).triage == "keep"


def test_nothing_a_version_depends_on_can_be_deleted():
    brief = make_brief()
    reference = reference_create(brief=brief, source=image_file(colour=(5, 5, 5)))
    parent = version_import(brief=brief, source=image_file(colour=(6, 6, 6)), references=[reference])
    child = version_import(brief=brief, source=image_file(colour=(7, 7, 7)), parents=[parent])
    for row in (reference, parent, child, child.generated_by.derivation):
        with pytest.raises(ImmutableRowError, match="cannot be deleted"):
            row.delete()
    with pytest.raises(ProtectedError):
        Reference.objects.filter(pk=reference.pk).delete()
    with pytest.raises(ProtectedError):
        Version.objects.filter(pk=parent.pk).delete()
    with pytest.raises(ProtectedError):
        brief.delete()
    assert Derivation.objects.count() == 2
