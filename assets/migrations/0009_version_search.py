"""Full-text search over the lineage, kept current by Postgres: a row per version, its prompt words written by
triggers on the edges that record them, a generated `document` column under a GIN index.

Review adds the words of notes and decision comments with triggers of its own (review 0006).
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

RECIPE_SQL = r"""
ALTER TABLE assets_versionsearch DROP COLUMN document;
ALTER TABLE assets_versionsearch ADD COLUMN document tsvector GENERATED ALWAYS AS (
    coalesce(recipe, ''::tsvector) || coalesce(discussion, ''::tsvector) || coalesce(discussion_internal, ''::tsvector)
) STORED;  -- Django creates the GIN index on it once this migration's statements ran

CREATE FUNCTION seed_version_recipe(p_version bigint) RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('english', coalesce(string_agg(p.text, ' '), '')), 'A')
        || setweight(to_tsvector('english', coalesce(string_agg(p.negative_text, ' '), '')), 'C')
      FROM assets_generated g
      JOIN assets_used u ON u.derivation_id = g.derivation_id AND u.prompt_id IS NOT NULL
      JOIN assets_prompt p ON p.id = u.prompt_id
     WHERE g.version_id = p_version
$$;

CREATE FUNCTION seed_version_recipe_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A version's output edge, or a prompt edge of the derivation that made (or will make) versions.
    INSERT INTO assets_versionsearch (version_id, recipe)
    SELECT g.version_id, seed_version_recipe(g.version_id)
      FROM assets_generated g
     WHERE (TG_TABLE_NAME = 'assets_generated' AND g.id = NEW.id)
        OR (TG_TABLE_NAME = 'assets_used' AND g.derivation_id = NEW.derivation_id)
    ON CONFLICT (version_id) DO UPDATE SET recipe = EXCLUDED.recipe;
    RETURN NULL;
END
$$;

CREATE TRIGGER seed_version_search AFTER INSERT ON assets_generated
    FOR EACH ROW EXECUTE FUNCTION seed_version_recipe_refresh();
CREATE TRIGGER seed_version_search AFTER INSERT ON assets_used
    FOR EACH ROW WHEN (NEW.prompt_id IS NOT NULL) EXECUTE FUNCTION seed_version_recipe_refresh();

INSERT INTO assets_versionsearch (version_id, recipe)
SELECT id, seed_version_recipe(id) FROM assets_version ON CONFLICT (version_id) DO NOTHING;
"""

REVERSE_SQL = r"""
DROP TRIGGER seed_version_search ON assets_used;
DROP TRIGGER seed_version_search ON assets_generated;
DROP FUNCTION seed_version_recipe_refresh();
DROP FUNCTION seed_version_recipe(bigint);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0008_change_request_role"),
    ]

    operations = [
        migrations.CreateModel(
            name="VersionSearch",
            fields=[
                (
                    "version",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search",
                        serialize=False,
                        to="assets.version",
                    ),
                ),
                ("recipe", django.contrib.postgres.search.SearchVectorField(null=True)),
                ("discussion", django.contrib.postgres.search.SearchVectorField(null=True)),
                ("discussion_internal", django.contrib.postgres.search.SearchVectorField(null=True)),
                ("document", django.contrib.postgres.search.SearchVectorField(editable=False, null=True)),
            ],
            options={
                "indexes": [
                    django.contrib.postgres.indexes.GinIndex(fields=["document"], name="versionsearch_document_gin")
                ],
            },
        ),
        migrations.RunSQL(RECIPE_SQL, REVERSE_SQL),
    ]
