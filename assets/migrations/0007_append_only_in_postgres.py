"""Append-only as a database fact: QuerySet.update(), bulk operations and raw SQL are held to it too.

One trigger function serves every lineage table. Its arguments name the columns that may change
(`column`), or may only be cleared (`column=null`, for ON DELETE SET NULL of a user); any other
changed column, or any DELETE, is refused with SQLSTATE 23001 (restrict_violation), which Django
raises as IntegrityError. Blob rows carry no trigger for DELETE: their foreign keys already refuse
deleting one that any row references, and an unreferenced one may go.
"""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION seed_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text[];
    old_row jsonb;
    new_row jsonb;
    allowed text[] := coalesce(TG_ARGV, '{}'::text[]);  -- NULL, not empty, for a trigger without arguments
BEGIN
    IF TG_OP = 'DELETE' THEN
        old_row := to_jsonb(OLD);
        RAISE EXCEPTION 'seed: % is append-only: row % cannot be deleted', TG_TABLE_NAME,
            coalesce(old_row ->> 'id', old_row ->> 'sha256')
            USING ERRCODE = 'restrict_violation';
    END IF;
    old_row := to_jsonb(OLD);
    new_row := to_jsonb(NEW);
    SELECT array_agg(n.key ORDER BY n.key) INTO changed
      FROM jsonb_each(new_row) AS n(key, value)
     WHERE n.value IS DISTINCT FROM old_row -> n.key
       AND NOT (n.key = ANY (allowed))
       AND NOT (n.key || '=null' = ANY (allowed) AND n.value = 'null'::jsonb);
    IF changed IS NOT NULL THEN
        RAISE EXCEPTION 'seed: % is append-only: % cannot change (row %)', TG_TABLE_NAME,
            array_to_string(changed, ', '),
            coalesce(old_row ->> 'id', old_row ->> 'sha256')
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
"""

# table: (columns that may change, or None for "no UPDATE trigger"), whether DELETE is refused
TABLES = {
    "assets_version": (["status", "triage", "label"], True),
    "assets_derivation": (
        [
            "state",
            "error",
            "environment",
            "job_id",
            "started_at",
            "finished_at",
            "wall_seconds",
            "gpu_seconds",
            "progress_step",
            "progress_total",
            "claim_token",
            "attempts",
            "run_notes",
            "cancelled_by_id",
            "cancelled_at",
            "created_by_id=null",
        ],
        True,
    ),
    "assets_used": ([], True),
    "assets_generated": ([], True),
    "assets_blob": ([], False),
}


def triggers_sql(tables: dict) -> tuple[str, str]:
    create, drop = [], []
    for table, (mutable, refuse_delete) in tables.items():
        arguments = ", ".join(f"'{column}'" for column in mutable)
        create.append(
            f"CREATE TRIGGER seed_append_only_update BEFORE UPDATE ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION seed_append_only({arguments});"
        )
        drop.append(f"DROP TRIGGER IF EXISTS seed_append_only_update ON {table};")
        if refuse_delete:
            create.append(
                f"CREATE TRIGGER seed_append_only_delete BEFORE DELETE ON {table} FOR EACH ROW "
                f"EXECUTE FUNCTION seed_append_only();"
            )
            drop.append(f"DROP TRIGGER IF EXISTS seed_append_only_delete ON {table};")
    return "\n".join(create), "\n".join(drop)


class Migration(migrations.Migration):
    dependencies = [("assets", "0006_derivation_run_notes_and_cancel")]

    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION IF EXISTS seed_append_only() CASCADE;"),
        migrations.RunSQL(*triggers_sql(TABLES)),
    ]
