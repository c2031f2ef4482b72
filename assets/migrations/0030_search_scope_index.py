"""Search finds its page before it ranks: each version's search row also holds its brief and the weights its recipe
used, kept by the database like the words, under one GIN index with them (btree_gin for the brief). A search scoped
to a brief, campaign or client, or filtered by a model, then meets few rows inside the index instead of reading and
joining every text match; the ranking of what is left is unchanged."""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.db.models.deletion
from django.contrib.postgres.operations import BtreeGinExtension
from django.db import migrations, models

SQL = r"""
CREATE FUNCTION seed_version_weights(p_version bigint) RETURNS bigint[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT u.model_weights_id ORDER BY u.model_weights_id), '{}')
      FROM assets_generated g
      JOIN assets_used u ON u.derivation_id = g.derivation_id AND u.model_weights_id IS NOT NULL
     WHERE g.version_id = p_version
$$;

-- Every way a row is made or its recipe rewritten (assets' and review's triggers) passes here.
CREATE FUNCTION seed_version_search_scope() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.brief_id := (SELECT brief_id FROM assets_version WHERE id = NEW.version_id);
    NEW.model_weights := seed_version_weights(NEW.version_id);
    RETURN NEW;
END
$$;

-- A weights edge recorded after the output (as an import records them).
CREATE FUNCTION seed_version_weights_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE assets_versionsearch s SET model_weights = seed_version_weights(s.version_id)
      FROM assets_generated g
     WHERE g.derivation_id = NEW.derivation_id AND s.version_id = g.version_id;
    RETURN NULL;
END
$$;

UPDATE assets_versionsearch s SET brief_id = v.brief_id, model_weights = seed_version_weights(s.version_id)
  FROM assets_version v WHERE v.id = s.version_id;
SET CONSTRAINTS ALL IMMEDIATE;  -- the new key's checks now, so the column can be altered below

CREATE TRIGGER seed_version_search_scope BEFORE INSERT OR UPDATE OF recipe ON assets_versionsearch
    FOR EACH ROW EXECUTE FUNCTION seed_version_search_scope();
CREATE TRIGGER seed_version_search_weights AFTER INSERT ON assets_used
    FOR EACH ROW WHEN (NEW.model_weights_id IS NOT NULL) EXECUTE FUNCTION seed_version_weights_refresh();
"""

REVERSE_SQL = r"""
DROP TRIGGER seed_version_search_weights ON assets_used;
DROP TRIGGER seed_version_search_scope ON assets_versionsearch;
DROP FUNCTION seed_version_weights_refresh();
DROP FUNCTION seed_version_search_scope();
DROP FUNCTION seed_version_weights(bigint);
"""


class Migration(migrations.Migration):
    dependencies = [("assets", "0029_machine_checks")]

    operations = [
        BtreeGinExtension(),
        migrations.AddField(
            model_name="versionsearch",
            name="brief",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="assets.brief",
            ),
        ),
        migrations.AddField(
            model_name="versionsearch",
            name="model_weights",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.BigIntegerField(), default=list, editable=False, size=None
            ),
        ),
        migrations.RunSQL(SQL, REVERSE_SQL),
        migrations.AlterField(
            model_name="versionsearch",
            name="brief",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="assets.brief",
            ),
        ),
        migrations.RemoveIndex(model_name="versionsearch", name="versionsearch_document_gin"),
        migrations.AddIndex(
            model_name="versionsearch",
            index=django.contrib.postgres.indexes.GinIndex(
                fastupdate=False, fields=["brief", "model_weights", "document"], name="versionsearch_scope_gin"
            ),
        ),
    ]
