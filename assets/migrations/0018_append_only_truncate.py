"""TRUNCATE empties a table without firing its DELETE triggers: the append-only tables refuse it too.

A statement-level trigger per table whose rows may not be deleted (see 0007). Tests empty every table
between transactional tests with TRUNCATE; their connections say so with `seed.allow_truncate=on`
(config/settings/test.py). Anyone able to set that could as well drop the trigger: it guards against
mistakes by the tables' owner, while the web app and the workers connect as a role without the TRUNCATE
privilege at all (docker-compose.yml).
"""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION seed_append_only_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('seed.allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'seed: % is append-only: it cannot be truncated', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
"""

TABLES = [
    "assets_version",
    "assets_derivation",
    "assets_used",
    "assets_generated",
    "assets_reproducibilitycheck",
    "assets_derivedfile",
]


def truncate_triggers_sql(tables: list[str]) -> tuple[str, str]:
    create = [
        f"CREATE TRIGGER seed_append_only_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
        f"EXECUTE FUNCTION seed_append_only_truncate();"
        for table in tables
    ]
    drop = [f"DROP TRIGGER IF EXISTS seed_append_only_truncate ON {table};" for table in tables]
    return "\n".join(create), "\n".join(drop)


class Migration(migrations.Migration):
    dependencies = [("assets", "0017_api_token")]

    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION IF EXISTS seed_append_only_truncate() CASCADE;"),
        migrations.RunSQL(*truncate_triggers_sql(TABLES)),
    ]
