import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from assets.errors import ImmutableRowError
from assets.models import AuditEvent, Blob, Derivation, Generated, Reference, Used, Version
from assets.services.briefs import reference_create
from assets.services.versions import version_import
from review.models import Approval, Decision
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


def _refused(action) -> str:
    """Run a write that must be refused by the database itself; returns Postgres's message."""
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        action()
    return str(error.value)


def _raw(sql: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql, params)


@pytest.fixture
def lineage(cast):
    from review.services.rounds import decision_record, round_open

    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )
    decision_record(review_round=review_round, version=cast["version_a"], verdict="approve", reviewer=cast["dana"])
    return {"version": cast["version_a"], "derivation": cast["version_a"].generated_by.derivation}


def test_querysets_and_raw_sql_cannot_edit_frozen_columns(lineage):
    version, derivation = lineage["version"], lineage["derivation"]
    assert "width cannot change" in _refused(lambda: Version.objects.filter(pk=version.pk).update(width=1))
    assert "params cannot change" in _refused(
        lambda: Derivation.objects.filter(pk=derivation.pk).update(params={"x": 1})
    )
    assert "op cannot change" in _refused(
        lambda: _raw("UPDATE assets_derivation SET op = 'grade' WHERE id = %s", derivation.pk)
    )
    other_blob = Blob.objects.create(sha256="f" * 64, size=1, media_type="image/png")
    assert "blob_id cannot change" in _refused(
        lambda: _raw("UPDATE assets_version SET blob_id = %s WHERE id = %s", other_blob.pk, version.pk)
    )
    assert "media_type cannot change" in _refused(
        lambda: Blob.objects.filter(pk=version.blob_id).update(media_type="text/html")
    )
    assert "verdict cannot change" in _refused(lambda: Decision.objects.update(verdict="reject"))
    assert "sha256 cannot change" in _refused(lambda: Approval.objects.update(sha256="0" * 64))
    assert "payload cannot change" in _refused(lambda: AuditEvent.objects.update(payload={}))
    assert "role cannot change" in _refused(
        lambda: Generated.objects.filter(derivation=derivation).update(role="reproduction")
    )
    Version.objects.filter(pk=version.pk).update(label="hero, final", triage="keep")
    Derivation.objects.filter(pk=derivation.pk).update(error="note")
    assert Version.objects.get(pk=version.pk).label == "hero, final"


def test_querysets_and_raw_sql_cannot_delete_lineage_rows(lineage):
    version = lineage["version"]
    assert "cannot be deleted" in _refused(lambda: AuditEvent.objects.all().delete())
    assert "cannot be deleted" in _refused(lambda: Decision.objects.filter(pins__isnull=True).delete())
    assert "cannot be deleted" in _refused(lambda: Approval.objects.all().delete())
    assert "cannot be deleted" in _refused(
        lambda: Generated.objects.filter(version=version)._raw_delete(connection.alias)
    )
    assert "cannot be deleted" in _refused(lambda: Version.objects.filter(pk=version.pk)._raw_delete(connection.alias))
    assert "cannot be deleted" in _refused(
        lambda: _raw("DELETE FROM assets_derivation WHERE id = %s", lineage["derivation"].pk)
    )
    assert "cannot be deleted" in _refused(
        lambda: _raw("DELETE FROM review_auditevent WHERE id = (SELECT max(id) FROM review_auditevent)")
    )
    assert "violates foreign key" in _refused(
        lambda: _raw("DELETE FROM assets_blob WHERE sha256 = %s", version.blob_id)
    )
    unreferenced = Blob.objects.create(sha256="e" * 64, size=1, media_type="image/png")
    Blob.objects.filter(pk=unreferenced.pk).delete()
    assert AuditEvent.objects.count() >= 3 and Version.objects.filter(pk=version.pk).exists()


def test_the_database_triggers_allow_exactly_the_models_mutable_fields(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, encode(t.tgargs, 'escape') FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'seed_append_only_update'"
        )
        allowed = {
            table: {arg.removesuffix("=null") for arg in args.split("\\000") if arg}
            for table, args in cursor.fetchall()
        }
    for model in (Version, Derivation, Used, Generated):
        columns = {model._meta.get_field(name).column for name in model.mutable_fields}
        if model is Derivation:
            columns.add("created_by_id")  # only cleared, when its user is deleted
        assert allowed[model._meta.db_table] == columns, model


def test_a_user_who_made_derivations_can_still_be_deleted(db):
    from django.contrib.auth import get_user_model

    maker, other = get_user_model().objects.create_user("maker"), get_user_model().objects.create_user("other")
    derivation = Derivation.objects.create(brief=make_brief(), op="import", phase="production", created_by=maker)
    assert "created_by_id cannot change" in _refused(
        lambda: Derivation.objects.filter(pk=derivation.pk).update(created_by=other)
    )
    maker.delete()
    assert Derivation.objects.get(pk=derivation.pk).created_by is None


def _truncate(sql: str) -> None:
    """TRUNCATE as the tables' owner would run it outside the tests, whose connections may truncate (for flushing)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses to run with deferred checks pending
        cursor.execute("SET LOCAL seed.allow_truncate = off")
        cursor.execute(sql)


def test_truncate_cannot_empty_lineage_rows(lineage):
    for table in (
        "assets_version",
        "assets_derivation",
        "assets_used",
        "assets_generated",
        "review_auditevent",
        "review_decision",
        "review_approval",
    ):
        assert f"{table} is append-only: it cannot be truncated" in _refused(
            lambda table=table: _truncate(f"TRUNCATE {table} CASCADE")
        )
    # Emptying the blobs takes every version with it (CASCADE): refused as well.
    assert "cannot be truncated" in _refused(lambda: _truncate("TRUNCATE assets_blob CASCADE"))
    assert Version.objects.filter(pk=lineage["version"].pk).exists() and AuditEvent.objects.exists()


def test_every_table_that_refuses_delete_refuses_truncate(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, array_agg(t.tgname::text) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE 'seed_append_only_%%' GROUP BY c.relname"
        )
        triggers = dict(cursor.fetchall())
    refusing_delete = {table for table, names in triggers.items() if "seed_append_only_delete" in names}
    assert len(refusing_delete) >= 9
    assert {table for table in refusing_delete if "seed_append_only_truncate" not in triggers[table]} == set()
