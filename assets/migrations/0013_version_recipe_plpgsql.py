"""The search trigger's prompt lookup as PL/pgSQL: an SQL function called from a trigger is planned again on every
call, and that planning was most of the search index's cost per generated image (about 0.7 ms a job on the worker
benchmark); PL/pgSQL keeps the plan for the session."""

from django.db import migrations

PLPGSQL = r"""
CREATE OR REPLACE FUNCTION seed_version_recipe(p_version bigint) RETURNS tsvector LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT setweight(to_tsvector('english', coalesce(string_agg(p.text, ' '), '')), 'A')
            || setweight(to_tsvector('english', coalesce(string_agg(p.negative_text, ' '), '')), 'C')
          FROM assets_generated g
          JOIN assets_used u ON u.derivation_id = g.derivation_id AND u.prompt_id IS NOT NULL
          JOIN assets_prompt p ON p.id = u.prompt_id
         WHERE g.version_id = p_version);
END
$$;
"""

SQL = r"""
CREATE OR REPLACE FUNCTION seed_version_recipe(p_version bigint) RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('english', coalesce(string_agg(p.text, ' '), '')), 'A')
        || setweight(to_tsvector('english', coalesce(string_agg(p.negative_text, ' '), '')), 'C')
      FROM assets_generated g
      JOIN assets_used u ON u.derivation_id = g.derivation_id AND u.prompt_id IS NOT NULL
      JOIN assets_prompt p ON p.id = u.prompt_id
     WHERE g.version_id = p_version
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("assets", "0012_licences_and_reproducibility")]

    operations = [migrations.RunSQL(PLPGSQL, SQL)]
