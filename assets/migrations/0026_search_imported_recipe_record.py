"""A version's recipe words also hold what an import recorded of a tool Seed cannot run (Midjourney): its job id, its
author and its parameters as written (`--stylize 250` reads as "stylize 250"), weighted between the prompt and the
negative prompt. No version holds them yet, so nothing is re-indexed."""

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
         WHERE g.version_id = p_version)
        || (
        SELECT setweight(to_tsvector('english', coalesce(string_agg(concat_ws(' ',
                   d.params ->> 'job_id', d.params ->> 'author', d.params ->> 'options'), ' '), '')), 'B')
          FROM assets_generated g
          JOIN assets_derivation d ON d.id = g.derivation_id
         WHERE g.version_id = p_version);
END
$$;
"""

# As assets 0013 left it.
PREVIOUS = r"""
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


class Migration(migrations.Migration):
    dependencies = [("assets", "0025_client_ai_disclosure")]

    operations = [migrations.RunSQL(PLPGSQL, PREVIOUS)]
