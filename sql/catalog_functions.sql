-- shopml catalog functions: saving, deploying and dropping models. CREATE OR REPLACE, so the
-- upgrade scripts include this file as it is.

-- Stores a trained model as the next version of its name (and deploys it unless told not to).
-- Concurrent trainings of one name serialise on an advisory lock, so versions never collide.
CREATE OR REPLACE FUNCTION shopml._save_model(
    p_model_name text, p_algorithm text, p_task text, p_source text, p_target text,
    p_features text[], p_params jsonb, p_metrics jsonb, p_n_train bigint, p_n_test bigint,
    p_bytes bytea, p_deploy boolean)
RETURNS TABLE (model_id bigint, version int)
LANGUAGE plpgsql AS $$
DECLARE
    v_version int;
    v_id bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('shopml.model:' || p_model_name, 0));
    IF NOT shopml._may_manage(p_model_name) THEN
        RAISE EXCEPTION 'model "%" belongs to another role', p_model_name
          USING ERRCODE = '42501',
                HINT = 'Train under another name, or ask the owner or a member of shopml_admin.';
    END IF;
    -- Versions are never reused: the counter remembers the last one even after every version
    -- of the name was dropped (and starts above any version already stored).
    INSERT INTO shopml.model_version AS c (model_name, last_version)
    SELECT p_model_name, coalesce(max(m.version), 0) + 1
      FROM shopml.model m WHERE m.model_name = p_model_name
    ON CONFLICT (model_name) DO UPDATE
       SET last_version = greatest(c.last_version,
                                   (SELECT coalesce(max(m.version), 0) FROM shopml.model m
                                     WHERE m.model_name = excluded.model_name)) + 1
    RETURNING c.last_version INTO v_version;
    INSERT INTO shopml.model (model_name, version, algorithm, task, source, target, features,
                              params, metrics, n_train, n_test, model_bytes)
    VALUES (p_model_name, v_version, p_algorithm, p_task, p_source, p_target, p_features,
            p_params, p_metrics, p_n_train, p_n_test, p_bytes)
    RETURNING shopml.model.model_id INTO v_id;
    IF p_deploy OR NOT EXISTS (SELECT 1 FROM shopml.deployment d WHERE d.model_name = p_model_name) THEN
        INSERT INTO shopml.deployment AS d (model_name, model_id) VALUES (p_model_name, v_id)
        ON CONFLICT (model_name) DO UPDATE
           SET model_id = excluded.model_id, deployed_at = now(), deployed_by = current_user;
    END IF;
    RETURN QUERY SELECT v_id, v_version;
END
$$;

CREATE OR REPLACE FUNCTION shopml.deploy(model_name text, version int)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF deploy.model_name IS NULL OR deploy.version IS NULL THEN
        RAISE EXCEPTION 'model_name and version must not be NULL' USING ERRCODE = '22023';
    END IF;
    SELECT m.model_id INTO v_id FROM shopml.model m
     WHERE m.model_name = deploy.model_name AND m.version = deploy.version;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'model "%" has no version %', deploy.model_name, deploy.version
          USING ERRCODE = '42704',
                HINT = 'SELECT version FROM shopml.models WHERE model_name = ... lists the versions.';
    END IF;
    IF NOT shopml._may_manage(deploy.model_name) THEN
        RAISE EXCEPTION 'model "%" belongs to another role: only its owner or a member of shopml_admin may deploy it', deploy.model_name
          USING ERRCODE = '42501';
    END IF;
    INSERT INTO shopml.deployment AS d (model_name, model_id) VALUES (deploy.model_name, v_id)
    ON CONFLICT ON CONSTRAINT deployment_pkey DO UPDATE
       SET model_id = excluded.model_id, deployed_at = now(), deployed_by = current_user;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION shopml.deploy(text, int) IS
  'Makes this version of the model the one that prediction uses (also a rollback: deploy an older version); returns its model_id. The next statement sees it.';

CREATE OR REPLACE FUNCTION shopml.drop_model(model_name text, version int DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_count bigint;
    v_deployed bigint;
BEGIN
    IF drop_model.model_name IS NULL THEN
        RAISE EXCEPTION 'model_name must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF NOT shopml._may_manage(drop_model.model_name) THEN
        RAISE EXCEPTION 'model "%" belongs to another role: only its owner or a member of shopml_admin may drop it', drop_model.model_name
          USING ERRCODE = '42501';
    END IF;
    SELECT d.model_id INTO v_deployed FROM shopml.deployment d WHERE d.model_name = drop_model.model_name;
    DELETE FROM shopml.model m
     WHERE m.model_name = drop_model.model_name
       AND (drop_model.version IS NULL OR m.version = drop_model.version);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count = 0 THEN
        RAISE EXCEPTION 'model "%"%does not exist', drop_model.model_name,
              CASE WHEN drop_model.version IS NULL THEN ' ' ELSE format(' version %s ', drop_model.version) END
          USING ERRCODE = '42704';
    END IF;
    -- Dropping the deployed version falls back to the newest remaining one.
    IF v_deployed IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shopml.deployment d WHERE d.model_name = drop_model.model_name) THEN
        INSERT INTO shopml.deployment (model_name, model_id)
        SELECT m.model_name, m.model_id FROM shopml.model m
         WHERE m.model_name = drop_model.model_name
         ORDER BY m.version DESC LIMIT 1;
    END IF;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION shopml.drop_model(text, int) IS
  'Deletes one version of a model, or every version when version is NULL; returns how many were deleted. Dropping the deployed version deploys the newest remaining one.';

-- The deployed model id of a name and its row version (xmin/ctid: changes with any UPDATE of
-- the row, even within one transaction), so backends notice rewritten bytes.
CREATE OR REPLACE FUNCTION shopml._deployed(p_model_name text, OUT model_id bigint, OUT row_version text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT m.model_id, m.xmin::text || '/' || m.ctid::text FROM shopml.deployment d JOIN shopml.model m USING (model_id)
   WHERE d.model_name = p_model_name
$$;
