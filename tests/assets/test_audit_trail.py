"""The audit trail is the core's: assets appends to it itself, on the table it had when it was review's."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from assets.models import AuditEvent
from assets.services.audit import audit_chain_verify
from assets.services.licences import licence_save


@pytest.mark.django_db
def test_the_core_records_its_own_changes_in_the_trail():
    producer = get_user_model().objects.create_user("paula")
    licence = licence_save(values={"name": "Stock standard", "commercial_use": True}, actor=producer)
    event = AuditEvent.objects.get(object_type="licence", object_id=licence.pk)
    assert (event.kind, event.actor, event.share_link_id) == ("licence.created", producer, None)
    assert AuditEvent._meta.db_table == "review_auditevent" and audit_chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_the_move_keeps_the_content_type_and_so_who_holds_the_trails_permissions():
    before = [("assets", "0018_append_only_truncate"), ("review", "0009_notification_kind_choices")]
    auditors = Group.objects.create(name="Auditors")
    auditors.permissions.add(Permission.objects.get(content_type__app_label="assets", codename="view_auditevent"))
    MigrationExecutor(connection).migrate(before)
    try:
        # A studio that ran the trail in review: its content type, and the permission on it, were review's.
        assert ContentType.objects.filter(app_label="review", model="auditevent").exists()
    finally:
        # Back to every app's newest migration, not just past the move: the tests after this one need the whole schema.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()
    assert not ContentType.objects.filter(app_label="review", model="auditevent").exists()
    assert [f"{p.content_type.app_label}.{p.codename}" for p in auditors.permissions.all()] == [
        "assets.view_auditevent"
    ]
