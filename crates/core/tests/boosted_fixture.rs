//! Writes the golden fixtures of boosted-trees models (format 1, this release) into
//! `tests/fixtures/models/`: `cargo test -p shopml-core --release --test boosted_fixture --
//! --ignored`. Run once when the format is released; `golden.rs` then checks that later code
//! decodes them and predicts the same.

use serde_json::{json, Value};
use shopml_core::data::cell::Cell;
use shopml_core::data::prep::{ColumnKind, Impute, PrepOptions, RawTable};
use shopml_core::model::{self, Answer, Model, Row, Want};
use shopml_core::monitor::Quiet;
use shopml_core::rng::Rng;
use shopml_core::trees::boosted::{BoostParams, Objective};
use shopml_core::trees::boosted_model::{train, BoostedModel};

fn answer(m: &dyn Model, row: &Row, want: Want) -> Value {
    match m.predict("golden", row, want) {
        Ok(Answer::Number(v)) => json!(v),
        Ok(Answer::Text(t)) => json!(t),
        _ => Value::Null,
    }
}

fn case(m: &BoostedModel, input: Vec<Value>, note: &str) -> Value {
    let cells: Vec<Cell> = input
        .iter()
        .map(|v| match v {
            Value::Null => Cell::Null,
            Value::String(s) => Cell::Text(s),
            n => Cell::Num(n.as_f64().unwrap()),
        })
        .collect();
    let mut dense = vec![0.0; m.prep.dense_width];
    let mut hashed = Vec::new();
    assert!(m.prep.encode(&cells, &mut dense, &mut hashed));
    let row = Row {
        dense: &dense,
        hashed: &hashed,
        group: None,
    };
    // NaN (a kept missing value) is recorded as null.
    let prepared: Vec<Value> = dense
        .iter()
        .map(|v| if v.is_nan() { Value::Null } else { json!(v) })
        .collect();
    json!({"input": input, "note": note, "prepared": prepared,
           "predict": answer(m, &row, Want::Value),
           "predict_proba": answer(m, &row, Want::Probability),
           "predict_label": answer(m, &row, Want::Label)})
}

fn make(name: &str, objective: Objective, labels: Vec<String>) {
    let mut rng = Rng::new(7);
    let kinds = [
        ColumnKind::Numeric,
        ColumnKind::Numeric,
        ColumnKind::Categorical,
    ];
    let mut raw = RawTable::new(
        vec!["visits".into(), "days".into(), "region".into()],
        &kinds,
    );
    let regions = ["north", "south", "east"];
    let (mut ytr, mut yte) = (Vec::new(), Vec::new());
    for i in 0..3000 {
        let visits = (rng.uniform(0.0, 30.0) * 10.0).round() / 10.0;
        let days = (rng.uniform(1.0, 90.0)).round();
        let region = regions[i % 3];
        let missing = i % 10 == 0;
        let score =
            visits / 10.0 - days / 30.0 + if region == "north" { 1.0 } else { 0.0 } + rng.normal();
        let y = match objective {
            Objective::Binary => (score > 0.0) as u8 as f64,
            _ => 50.0 + 10.0 * score,
        };
        let v = Cell::Num(visits);
        let cells = [
            if missing { Cell::Null } else { v },
            Cell::Num(days),
            Cell::Text(region),
        ];
        let test = i % 5 == 0;
        raw.push(&cells, test);
        if test {
            yte.push(y)
        } else {
            ytr.push(y)
        }
    }
    let prep = PrepOptions {
        standardize: false,
        impute: Impute::Keep,
        max_categories: 32,
        hash_buckets: 1 << 18,
    };
    let params = BoostParams {
        objective,
        n_trees: 20,
        num_leaves: 7,
        ..Default::default()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let numeric = objective == Objective::Binary;
    let t = train(
        raw,
        ytr,
        yte,
        labels,
        numeric,
        &prep,
        &params,
        &[1, -1, 0],
        false,
        None,
        &pool,
        &mut Quiet,
    )
    .unwrap();
    let m = t.model;
    let bytes = model::encode(&m).unwrap();
    let cases = vec![
        case(
            &m,
            vec![json!(25.0), json!(5.0), json!("north")],
            "frequent, recent, north",
        ),
        case(
            &m,
            vec![json!(2.0), json!(80.0), json!("south")],
            "rare, long ago",
        ),
        case(
            &m,
            vec![Value::Null, json!(30.0), json!("east")],
            "NULL visits: kept missing",
        ),
        case(
            &m,
            vec![json!(12.0), json!(20.0), json!("west")],
            "unseen region",
        ),
    ];
    let doc = json!({"algorithm": "boosted_trees", "format_version": 1, "cases": cases,
                     "made_by": "crates/core/tests/boosted_fixture.rs"});
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    std::fs::write(dir.join(format!("{name}-v1.bin")), bytes).unwrap();
    std::fs::write(
        dir.join(format!("{name}-v1.json")),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
}

#[test]
#[ignore]
fn write_boosted_fixtures() {
    make(
        "boosted_binary",
        Objective::Binary,
        vec!["0".into(), "1".into()],
    );
    make("boosted_regression", Objective::Regression, Vec::new());
}
