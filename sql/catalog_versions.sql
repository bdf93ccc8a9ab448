-- The last version number given to each model name (shopml 0.3): versions are never reused,
-- even after every version of a name was dropped. Safe to run again (the update script does).
CREATE TABLE IF NOT EXISTS shopml.model_version (
    model_name   text PRIMARY KEY,
    last_version int  NOT NULL CHECK (last_version > 0)
);
COMMENT ON TABLE shopml.model_version IS
  'The last version number given to each model name, so a version number is never given twice.';
SELECT pg_catalog.pg_extension_config_dump('shopml.model_version', '');
REVOKE ALL ON shopml.model_version FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON shopml.model_version TO shopml_user;
ALTER TABLE shopml.model_version ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS model_version_read ON shopml.model_version;
CREATE POLICY model_version_read ON shopml.model_version FOR SELECT TO shopml_user USING (true);
DROP POLICY IF EXISTS model_version_train ON shopml.model_version;
CREATE POLICY model_version_train ON shopml.model_version FOR ALL TO shopml_user
  USING (shopml._may_manage(model_name)) WITH CHECK (shopml._may_manage(model_name));
