"""Notes and decision comments join a version's search words (assets 0009), kept current by triggers.

Client-visible text goes to `discussion`, internal notes and comments to `discussion_internal`, so a client
user's search never matches words they cannot read.
"""

from django.db import migrations

SQL = r"""
CREATE FUNCTION seed_version_discussion(p_version bigint, p_internal boolean) RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('english', concat_ws(' ',
               (SELECT string_agg(text, ' ') FROM review_note WHERE version_id = p_version AND internal = p_internal),
               (SELECT string_agg(comment, ' ') FROM review_decision
                 WHERE version_id = p_version AND internal = p_internal))), 'B')
$$;

CREATE FUNCTION seed_version_discussion_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO assets_versionsearch (version_id, discussion, discussion_internal)
    VALUES (NEW.version_id, seed_version_discussion(NEW.version_id, false),
            seed_version_discussion(NEW.version_id, true))
    ON CONFLICT (version_id) DO UPDATE
        SET discussion = EXCLUDED.discussion, discussion_internal = EXCLUDED.discussion_internal;
    RETURN NULL;
END
$$;

CREATE TRIGGER seed_version_search AFTER INSERT OR UPDATE OF text, internal ON review_note
    FOR EACH ROW EXECUTE FUNCTION seed_version_discussion_refresh();
CREATE TRIGGER seed_version_search AFTER INSERT OR UPDATE OF comment, internal ON review_decision
    FOR EACH ROW EXECUTE FUNCTION seed_version_discussion_refresh();

UPDATE assets_versionsearch
   SET discussion = seed_version_discussion(version_id, false),
       discussion_internal = seed_version_discussion(version_id, true)
 WHERE version_id IN (SELECT version_id FROM review_note UNION SELECT version_id FROM review_decision);
"""

REVERSE_SQL = r"""
DROP TRIGGER seed_version_search ON review_decision;
DROP TRIGGER seed_version_search ON review_note;
DROP FUNCTION seed_version_discussion_refresh();
DROP FUNCTION seed_version_discussion(bigint, boolean);
UPDATE assets_versionsearch SET discussion = NULL, discussion_internal = NULL;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0005_note_fix"),
        ("assets", "0009_version_search"),
    ]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
