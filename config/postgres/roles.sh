#!/bin/sh
# Makes the role the web app and the workers connect as. The postgres image runs this once, when it initialises an
# empty data directory (docker-entrypoint-initdb.d); on an existing one run it by hand, once:
#   docker compose exec postgres sh /docker-entrypoint-initdb.d/10-roles.sh
# The tables' owner (POSTGRES_USER) only runs migrations. The app's role reads and writes rows and nothing else:
# it cannot ALTER, TRUNCATE or DROP a table, so it cannot switch off the append-only triggers either.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v owner="$POSTGRES_USER" -v app="$SEED_APP_DB_USER" -v app_password="$SEED_APP_DB_PASSWORD" <<'SQL'
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') AS app_missing \gset
\if :app_missing
CREATE ROLE :"app" LOGIN PASSWORD :'app_password';
\else
ALTER ROLE :"app" LOGIN PASSWORD :'app_password';
\endif
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"DBNAME" TO :"app";
GRANT USAGE ON SCHEMA public TO :"app";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";
-- Tables and sequences that later migrations make, as the owner, get the same grants.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"app";
SQL
