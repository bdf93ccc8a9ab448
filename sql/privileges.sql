-- Who may do what with models.
--
--   shopml_user   may train models (new names, or new versions of names it owns), read every
--                 model (shopml.models, predict, recommend, price), and deploy or drop the
--                 models it owns. A model name is owned by the role that trained its versions.
--   shopml_admin  a shopml_user that may also deploy and drop anyone's models.
--
-- Training reads the source with the caller's rights (no function is SECURITY DEFINER), so
-- table privileges and row-level security on the training data apply as for any query.
-- The roles are cluster-wide and are kept if the extension is dropped.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'shopml_user') THEN
        CREATE ROLE shopml_user NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'shopml_admin') THEN
        CREATE ROLE shopml_admin NOLOGIN IN ROLE shopml_user;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA shopml TO PUBLIC;
REVOKE ALL ON shopml.model, shopml.deployment, shopml.models FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON shopml.model TO shopml_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON shopml.deployment TO shopml_user;
GRANT USAGE ON SEQUENCE shopml.model_model_id_seq TO shopml_user;
GRANT SELECT ON shopml.models TO shopml_user;
-- The view reads the tables with the caller's rights, so their policies apply through it.
ALTER VIEW shopml.models SET (security_invoker = true);

-- May the current role deploy, drop or add versions to this model name?
CREATE FUNCTION shopml._may_manage(p_model_name text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT pg_catalog.pg_has_role(current_user, 'shopml_admin', 'MEMBER')
      OR NOT EXISTS (SELECT 1 FROM shopml.model m
                      WHERE m.model_name = p_model_name AND m.created_by <> current_user)
$$;
COMMENT ON FUNCTION shopml._may_manage(text) IS
  'Whether the current role owns this model name (trained all its versions) or is a member of shopml_admin.';

ALTER TABLE shopml.model ENABLE ROW LEVEL SECURITY;
CREATE POLICY model_read ON shopml.model FOR SELECT TO shopml_user USING (true);
CREATE POLICY model_train ON shopml.model FOR INSERT TO shopml_user
  WITH CHECK (created_by = current_user AND shopml._may_manage(model_name));
CREATE POLICY model_drop ON shopml.model FOR DELETE TO shopml_user
  USING (shopml._may_manage(model_name));

ALTER TABLE shopml.deployment ENABLE ROW LEVEL SECURITY;
CREATE POLICY deployment_read ON shopml.deployment FOR SELECT TO shopml_user USING (true);
CREATE POLICY deployment_manage ON shopml.deployment FOR ALL TO shopml_user
  USING (shopml._may_manage(model_name)) WITH CHECK (shopml._may_manage(model_name));
