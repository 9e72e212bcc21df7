SET client_min_messages = warning;
-- FerretDB v1 on PostgreSQL pushes each top-level equality of a filter to SQL as
-- `_jsonb -> 'field' @> value`, but the indexes it creates for MongoDB indexes are btree
-- indexes on `(_jsonb -> 'field')`, which cannot serve `@>`: every query scans the table.
-- This event trigger gives each such btree index a GIN twin on the same expressions, so the
-- pushed equalities (on scalars and on array members) use an index. Local provisioning only:
-- the services never depend on it, and on a real MongoDB none of this exists.
-- The twins are built without GIN's pending list (`fastupdate = off`): with it, every insert and
-- update appends to a list that every lookup scans until a vacuum merges it, and under 50 writes/s
-- a `findOne({_id})` at 1M users went from 0.1 ms to 2-37 ms of PostgreSQL time (162 pages read).
CREATE OR REPLACE FUNCTION suite_gin_twin(index_oid oid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  ix record;
BEGIN
  SELECT c.relname AS name, i.indrelid::regclass AS tbl, am.amname AS method,
         pg_get_expr(i.indexprs, i.indrelid) AS exprs
    INTO ix
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am am ON am.oid = c.relam
   WHERE i.indexrelid = index_oid;
  IF ix.method = 'btree' AND ix.exprs LIKE '(_jsonb -> %' THEN
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin (%s) WITH (fastupdate = off)', left(ix.name, 58) || '_gin', ix.tbl, ix.exprs);
  END IF;
END $$;

CREATE OR REPLACE FUNCTION suite_gin_twin_on_create() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
  cmd record;
BEGIN
  FOR cmd IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE INDEX' AND object_type = 'index' LOOP
    PERFORM suite_gin_twin(cmd.objid);
  END LOOP;
END $$;

-- A dropped MongoDB index takes its twin with it.
CREATE OR REPLACE FUNCTION suite_gin_twin_on_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
  obj record;
BEGIN
  FOR obj IN SELECT schema_name, object_name FROM pg_event_trigger_dropped_objects() WHERE object_type = 'index' AND object_name NOT LIKE '%\_gin' LOOP
    EXECUTE format('DROP INDEX IF EXISTS %I.%I', obj.schema_name, left(obj.object_name, 58) || '_gin');
  END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS suite_gin_twin_create;
CREATE EVENT TRIGGER suite_gin_twin_create ON ddl_command_end WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION suite_gin_twin_on_create();
DROP EVENT TRIGGER IF EXISTS suite_gin_twin_drop;
CREATE EVENT TRIGGER suite_gin_twin_drop ON sql_drop WHEN TAG IN ('DROP INDEX') EXECUTE FUNCTION suite_gin_twin_on_drop();

-- Indexes that existed before this file was applied get their twins now.
DO $$
BEGIN
  PERFORM suite_gin_twin(i.indexrelid)
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
    WHERE am.amname = 'btree' AND pg_get_expr(i.indexprs, i.indrelid) LIKE '(_jsonb -> %';
END $$;

-- Twins made before `fastupdate = off`: switch it off and merge what their pending lists hold.
DO $$
DECLARE
  ix record;
BEGIN
  FOR ix IN SELECT c.oid, c.oid::regclass AS name
              FROM pg_class c JOIN pg_am am ON am.oid = c.relam
             WHERE am.amname = 'gin' AND c.relname LIKE '%\_gin'
               AND NOT coalesce(c.reloptions @> ARRAY['fastupdate=off'], false) LOOP
    EXECUTE format('ALTER INDEX %s SET (fastupdate = off)', ix.name);
    PERFORM gin_clean_pending_list(ix.oid);
  END LOOP;
END $$;
