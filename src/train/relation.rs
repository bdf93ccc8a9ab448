//! The relation a model trains on: its columns, their types, and its key columns.
//!
//! Names reach SQL only as quoted identifiers or as the relation's regclass text, never pasted
//! from user input.

use pgrx::pg_sys;
use pgrx::spi::{quote_identifier, quote_literal};
use pgrx::PgRelation;
use shopml_core::data::cell::Cell;
use shopml_core::data::prep::ColumnKind;
use shopml_core::options::Pipeline;
use shopml_core::{Error, ErrorKind, Result};

use crate::pg::datum::Conv;
use crate::pg::spi::{scan, Param, Plan};

/// A column of the training relation.
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    /// `format_type` of the column's type, for messages.
    pub type_name: String,
    pub type_oid: pg_sys::Oid,
    /// How its values are read (the datum table's entry for its type).
    pub conv: Conv,
}

impl Column {
    /// The column as a quoted SQL identifier.
    pub fn ident(&self) -> String {
        quote_identifier(&self.name)
    }

    /// How the column enters a model (None: it cannot).
    pub fn kind(&self) -> Option<ColumnKind> {
        self.conv.column_kind(self.type_oid)
    }

    /// Whether its values are numbers (integers, floats, numeric, booleans).
    pub fn is_number(&self) -> bool {
        self.conv.is_number()
    }
}

/// The relation's name as SQL text (schema-qualified when needed, quoted), its columns and
/// what identifies its rows.
pub struct Relation {
    pub oid: pg_sys::Oid,
    pub sql_name: String,
    pub columns: Vec<Column>,
    /// A table (plain, partitioned or materialised view), whose rows have a ctid.
    pub is_table: bool,
    /// Its primary-key and unique single columns.
    pub keys: Vec<String>,
}

/// A leaf partition of a sharded table: a local table or a foreign table on `server`.
pub struct Shard {
    pub sql_name: String,
    pub server: Option<String>,
    /// Its server lists shopml in `extensions`, so postgres_fdw runs shopml's aggregates there.
    pub pushed_down: bool,
}

/// Runs `query_for(source, label)`, an aggregate over one source whose last output column is
/// `label`, on the relation, or, when it is sharded, on all of its partitions in one query: a
/// `UNION ALL` of one aggregate per partition, which postgres_fdw ships to each shard (only the
/// partial state comes back) and runs side by side on servers with `async_capable`. Every
/// result row goes to `row` without its label. Before that, each shard answers the same
/// aggregate over its first block, so that an error there (shopml missing, other column types,
/// a partial state this server cannot read, the server down) is raised with the shard named.
pub fn scan_parts(
    shards: &[Shard],
    rel: &Relation,
    query_for: impl Fn(&str, &str) -> String,
    params: &[Param],
    plan: Plan,
    row: impl FnMut(&[Cell]) -> Result<()>,
) -> Result<()> {
    scan_parts_where(shards, rel, None, query_for, params, plan, row)
}

/// [`scan_parts`] over the rows of each partition that pass `filter` (a condition postgres_fdw
/// can send to the shards, such as a `ctid` range).
pub fn scan_parts_where(
    shards: &[Shard],
    rel: &Relation,
    filter: Option<&str>,
    query_for: impl Fn(&str, &str) -> String,
    params: &[Param],
    plan: Plan,
    mut row: impl FnMut(&[Cell]) -> Result<()>,
) -> Result<()> {
    let from = |name: &str| match filter {
        Some(f) => format!("{name} WHERE {f}"),
        None => name.to_string(),
    };
    let label_of = |cells: &[Cell]| {
        cells
            .last()
            .and_then(|c| c.category())
            .map(|c| c.into_owned())
    };
    if shards.is_empty() {
        let query = query_for(&from(&rel.sql_name), "NULL::text");
        scan(&query, params, plan, 0, |cells| {
            row(&cells[..cells.len() - 1])
        })?;
        return Ok(());
    }
    let about = |s: &Shard| match &s.server {
        Some(server) => format!("shard \"{server}\" (partition {})", s.sql_name),
        None => format!("partition {}", s.sql_name),
    };
    for s in shards {
        let Some(server) = &s.server else { continue };
        let hint = format!(
            "Each shard needs the same shopml version installed (CREATE EXTENSION shopml on server \"{server}\") and the partition's columns of the types declared here."
        );
        let probe = query_for(
            &format!(
                "{} WHERE ctid < '(1,0)'::tid{}",
                s.sql_name,
                filter.map(|f| format!(" AND ({f})")).unwrap_or_default()
            ),
            "NULL::text",
        );
        crate::pg::error::prefixed(&about(s), Some(&hint), || {
            scan(&probe, params, Plan::Serial, 0, |cells| {
                for c in cells {
                    if let Cell::Bytes(b) = c {
                        crate::pg::aggregate::partial_payload(b)?;
                    }
                }
                Ok(())
            })
        })?;
    }
    let query = shards
        .iter()
        .map(|s| query_for(&from(&s.sql_name), &quote_literal(&s.sql_name)))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let servers: Vec<&str> = shards.iter().filter_map(|s| s.server.as_deref()).collect();
    let prefix = format!(
        "sharded scan of {} (servers {})",
        rel.sql_name,
        servers.join(", ")
    );
    crate::pg::error::prefixed(&prefix, None, || {
        scan(&query, params, Plan::Serial, 0, |cells| {
            let label = label_of(cells);
            row(&cells[..cells.len() - 1]).map_err(|mut e| {
                if let Some(s) = shards.iter().find(|s| Some(&s.sql_name) == label.as_ref()) {
                    e.message = format!("{}: {}", about(s), e.message);
                }
                e
            })
        })
    })?;
    Ok(())
}

/// The oid of a `regclass` argument of a trainer (22023 when it is NULL). The relation is
/// released at once: training reads it through SPI like any query.
pub fn relation_oid(relation: Option<PgRelation>) -> pg_sys::Oid {
    match relation {
        Some(r) => r.oid(),
        None => crate::pg::error::raise(Error::invalid("relation must not be NULL")),
    }
}

impl Relation {
    pub fn open(oid: pg_sys::Oid) -> Result<Relation> {
        Relation::open_in(oid, Plan::Serial)
    }

    /// [`Relation::open`], reading the catalog as `plan` says ([`Plan::Latest`] sees a
    /// relation this statement created, e.g. `tune`'s views of time-ordered folds).
    pub fn open_in(oid: pg_sys::Oid, plan: Plan) -> Result<Relation> {
        let oid_arg = i64::from(u32::from(oid));
        let mut head: Option<(String, bool)> = None;
        scan(
            "SELECT c.oid::regclass::text, c.relkind IN ('r', 'p', 'm') \
             FROM pg_catalog.pg_class c WHERE c.oid = $1::oid",
            &[Param::Int8(oid_arg)],
            plan,
            1,
            |cells| {
                let name = cells[0].category().unwrap_or_default().into_owned();
                head = Some((name, cells[1].number() == Some(1.0)));
                Ok(())
            },
        )?;
        let (sql_name, is_table) = head
            .ok_or_else(|| Error::new(ErrorKind::UndefinedTable, "the relation does not exist"))?;
        let mut columns = Vec::new();
        scan(
            "SELECT a.attname::text, format_type(a.atttypid, NULL), a.atttypid \
             FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[Param::Int8(oid_arg)],
            plan,
            0,
            |cells| {
                let type_oid = pg_sys::Oid::from(cells[2].number().unwrap_or(0.0) as u32);
                columns.push(Column {
                    name: cells[0].category().unwrap_or_default().into_owned(),
                    type_name: cells[1].category().unwrap_or_default().into_owned(),
                    type_oid,
                    conv: Conv::of(type_oid),
                });
                Ok(())
            },
        )?;
        let mut keys = Vec::new();
        scan(
            "SELECT a.attname::text FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
             WHERE i.indrelid = $1::oid AND (i.indisprimary OR i.indisunique) AND i.indnkeyatts = 1 \
             AND i.indexprs IS NULL AND i.indpred IS NULL ORDER BY a.attnum",
            &[Param::Int8(oid_arg)],
            plan,
            0,
            |cells| {
                let k = cells[0].category().unwrap_or_default().into_owned();
                if !keys.contains(&k) {
                    keys.push(k);
                }
                Ok(())
            },
        )?;
        Ok(Relation {
            oid,
            sql_name,
            columns,
            is_table,
            keys,
        })
    }

    /// The leaf partitions of a partitioned table when any of them is a foreign table (a
    /// table sharded with postgres_fdw), each with its server; empty otherwise. A NOTICE names
    /// each foreign partition whose server does not list shopml in its `extensions` option:
    /// postgres_fdw then ships its rows here instead of shopml's aggregate there.
    pub fn shards(&self, model_name: &str) -> Result<Vec<Shard>> {
        let mut leaves = Vec::new();
        scan(
            "SELECT t.relid::regclass::text, s.srvname::text, \
                    EXISTS (SELECT 1 FROM unnest(s.srvoptions) o \
                            WHERE o LIKE 'extensions=%' \
                              AND 'shopml' = ANY (string_to_array(replace(substr(o, 12), ' ', ''), ','))) \
             FROM pg_catalog.pg_partition_tree($1::oid::regclass) t \
             LEFT JOIN pg_catalog.pg_foreign_table f ON f.ftrelid = t.relid \
             LEFT JOIN pg_catalog.pg_foreign_server s ON s.oid = f.ftserver \
             WHERE t.isleaf AND t.level > 0 ORDER BY 1",
            &[Param::Int8(i64::from(u32::from(self.oid)))],
            Plan::Serial,
            0,
            |cells| {
                leaves.push(Shard {
                    sql_name: cells[0].category().unwrap_or_default().into_owned(),
                    server: cells[1].category().map(|c| c.into_owned()),
                    pushed_down: cells[2].number() == Some(1.0),
                });
                Ok(())
            },
        )?;
        if leaves.iter().all(|l| l.server.is_none()) {
            return Ok(Vec::new());
        }
        for l in &leaves {
            if let (Some(server), false, false) =
                (&l.server, l.pushed_down, crate::train::progress::quiet())
            {
                pgrx::notice!(
                    "shopml: training \"{model_name}\": the rows of partition {} travel from server \"{server}\" (ALTER SERVER {server} OPTIONS (ADD extensions 'shopml') computes its statistics there)",
                    l.sql_name
                );
            }
        }
        Ok(leaves)
    }

    /// For the trainers that read rows (not statistics): a NOTICE when the relation is sharded
    /// with postgres_fdw, saying that its rows travel to this server.
    pub fn notice_rows_travel(&self, model_name: &str) -> Result<()> {
        let mut servers: Option<String> = None;
        scan(
            "SELECT string_agg(DISTINCT s.srvname::text, ', ') \
             FROM pg_catalog.pg_partition_tree($1::oid::regclass) t \
             JOIN pg_catalog.pg_foreign_table f ON f.ftrelid = t.relid \
             JOIN pg_catalog.pg_foreign_server s ON s.oid = f.ftserver",
            &[Param::Int8(i64::from(u32::from(self.oid)))],
            Plan::Serial,
            1,
            |cells| {
                servers = cells[0].category().map(|c| c.into_owned());
                Ok(())
            },
        )?;
        if let (Some(servers), false) = (servers, crate::train::progress::quiet()) {
            pgrx::notice!(
                "shopml: training \"{model_name}\": {} is sharded (servers {servers}); this trainer reads its rows through the partitioned table, so they travel to this server (train_linear and train_logistic compute on the shards)",
                self.sql_name
            );
        }
        Ok(())
    }

    /// A column by exact name (42703 naming the table when it is missing).
    pub fn column(&self, name: &str) -> Result<&Column> {
        self.columns.iter().find(|c| c.name == name).ok_or_else(|| {
            let mut known: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
            known.truncate(20);
            Error::new(
                ErrorKind::UndefinedColumn,
                format!(
                    "column \"{}\" does not exist in {}",
                    name.escape_debug(),
                    self.sql_name
                ),
            )
            .with_hint(format!(
                "Columns of {}: {}.",
                self.sql_name,
                known.join(", ")
            ))
        })
    }

    /// A column that must be numeric (42804 otherwise); `role` says what it is for.
    pub fn numeric_column(&self, name: &str, role: &str) -> Result<&Column> {
        let c = self.column(name)?;
        if !c.is_number() {
            return Err(Error::mismatch(format!(
                "{role} column \"{}\" of {} is of type {}, not a number",
                c.name, self.sql_name, c.type_name
            ))
            .with_hint(
                "Use a numeric column, or a view that converts it (e.g. a CASE for booleans).",
            ));
        }
        Ok(c)
    }

    /// The features of a model of `target`: as [`Relation::features`] with the target, the
    /// split column and `exclude` left out of the default, and the target refused when it is
    /// listed.
    pub fn target_features(
        &self,
        features: FeatureList,
        target: &str,
        exclude: &[&str],
        pipeline: &Pipeline,
    ) -> Result<Features> {
        let mut all = vec![target];
        all.extend_from_slice(exclude);
        all.extend(pipeline.split.split_column.as_deref());
        let feats = self.features(features, &all, &pipeline.exclude)?;
        if feats.columns.iter().any(|f| f.name == target) {
            return Err(Error::invalid(format!(
                "the target \"{target}\" cannot also be a feature"
            )));
        }
        Ok(feats)
    }

    /// The features to use: the given names (numbers, booleans, dates, timestamps or
    /// categories), or when `features` is NULL every numeric or boolean column that is not in
    /// `exclude` or the `exclude` option and is not a key (primary key or unique single
    /// column: an id would leak row order or identity). Text columns are used only when named,
    /// so a free-text or id column never enters a model by accident.
    pub fn features(
        &self,
        features: Option<Vec<Option<String>>>,
        exclude: &[&str],
        options_exclude: &[String],
    ) -> Result<Features> {
        for e in options_exclude {
            self.column(e)?;
        }
        match features {
            Some(list) => {
                if list.is_empty() {
                    return Err(Error::invalid("features must not be an empty array")
                        .with_hint("Pass NULL to use every numeric column but the target."));
                }
                let mut out: Vec<Column> = Vec::with_capacity(list.len());
                for f in list {
                    let f = f.ok_or_else(|| Error::invalid("features must not contain NULL"))?;
                    if out.iter().any(|c| c.name == f) {
                        return Err(Error::invalid(format!("feature \"{f}\" is listed twice")));
                    }
                    let c = self.column(&f)?;
                    if c.kind().is_none() {
                        return Err(Error::mismatch(format!(
                                "feature \"{}\" of {} is of type {}, which a model cannot take",
                                c.name, self.sql_name, c.type_name
                            ),
                        )
                        .with_hint("Features are numbers, booleans, dates, timestamps, text, enums or uuids; convert others in a view (e.g. amount::numeric for money)."));
                    }
                    out.push(c.clone());
                }
                Ok(Features {
                    columns: out,
                    left_out_keys: Vec::new(),
                })
            }
            None => {
                let mut left_out_keys = Vec::new();
                let out: Vec<Column> = self
                    .columns
                    .iter()
                    .filter(|c| {
                        c.kind() == Some(ColumnKind::Numeric)
                            && !exclude.contains(&c.name.as_str())
                            && !options_exclude.contains(&c.name)
                    })
                    .filter(|c| {
                        let key = self.keys.contains(&c.name);
                        if key {
                            left_out_keys.push(c.name.clone());
                        }
                        !key
                    })
                    .cloned()
                    .collect();
                if out.is_empty() {
                    return Err(Error::data(format!(
                        "{} has no numeric columns to use as features",
                        self.sql_name
                    )));
                }
                Ok(Features {
                    columns: out,
                    left_out_keys,
                })
            }
        }
    }
}

/// The features chosen, and the key columns `features => NULL` left out.
/// The `features` argument of a trainer: column names, or NULL for every usable column.
pub type FeatureList = Option<Vec<Option<String>>>;

pub struct Features {
    pub columns: Vec<Column>,
    pub left_out_keys: Vec<String>,
}

impl Features {
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// Says which key columns were left out (a NOTICE), so nobody wonders where the id went.
    pub fn notice_keys(&self, model_name: &str) {
        if !self.left_out_keys.is_empty() && !crate::train::progress::quiet() {
            pgrx::notice!(
                "shopml: training \"{model_name}\": key columns left out of the features: {} (list them in features to use them)",
                self.left_out_keys.join(", ")
            );
        }
    }
}
