"""The audit trail is the core's now (assets 0019): review lets go of the model, and the table stays where it is."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("review", "0009_notification_kind_choices"), ("assets", "0019_auditevent_from_review")]

    operations = [migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="AuditEvent")])]
