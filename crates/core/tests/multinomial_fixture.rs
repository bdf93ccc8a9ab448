//! Writes the golden fixture of a multinomial logistic model (format 1, this release) into
//! `tests/fixtures/models/`: `cargo test -p shopml-core --release --test multinomial_fixture
//! -- --ignored`. Run once when the format is released; `golden.rs` then checks that later
//! code decodes it and predicts the same.

use serde_json::{json, Value};
use shopml_core::data::cell::Cell;
use shopml_core::data::prep::{ColumnKind, Impute, PrepOptions, RawTable};
use shopml_core::linear::multinomial::{train, MultinomialModel, MultinomialParams};
use shopml_core::model::{self, Answer, Model, Row, Want};
use shopml_core::monitor::Quiet;
use shopml_core::rng::Rng;

fn answer(m: &dyn Model, row: &Row, want: Want) -> Value {
    match m.predict("golden", row, want) {
        Ok(Answer::Number(v)) => json!(v),
        Ok(Answer::Text(t)) => json!(t),
        _ => Value::Null,
    }
}

fn case(m: &MultinomialModel, input: Vec<Value>, note: &str) -> Value {
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
    json!({"input": input, "note": note, "prepared": dense,
           "predict": answer(m, &row, Want::Value),
           "predict_proba": answer(m, &row, Want::Probability),
           "predict_label": answer(m, &row, Want::Label),
           "class_probabilities": m.probabilities(&dense)})
}

#[test]
#[ignore]
fn write_multinomial_fixture() {
    let mut rng = Rng::new(11);
    let kinds = [
        ColumnKind::Numeric,
        ColumnKind::Numeric,
        ColumnKind::Categorical,
    ];
    let mut raw = RawTable::new(
        vec!["distance".into(), "weight".into(), "channel".into()],
        &kinds,
    );
    let channels = ["web", "app", "store"];
    let labels = ["courier", "locker", "pickup"];
    let (mut ytr, mut yte) = (Vec::new(), Vec::new());
    for i in 0..3000 {
        let distance = (rng.uniform(0.0, 40.0) * 10.0).round() / 10.0;
        let weight = (rng.uniform(0.1, 20.0) * 10.0).round() / 10.0;
        let channel = channels[i % 3];
        let z = [
            0.0,
            0.5 - 0.05 * distance + if channel == "app" { 1.0 } else { 0.0 },
            -1.0 + 0.08 * distance - 0.1 * weight,
        ];
        let m = z.iter().fold(f64::MIN, |a, b| a.max(*b));
        let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
        let s: f64 = e.iter().sum();
        let u = rng.next_f64() * s;
        let class = if u < e[0] {
            0
        } else if u < e[0] + e[1] {
            1
        } else {
            2
        };
        let cells = [Cell::Num(distance), Cell::Num(weight), Cell::Text(channel)];
        let test = i % 5 == 0;
        raw.push(&cells, test);
        if test {
            yte.push(class)
        } else {
            ytr.push(class)
        }
    }
    let prep = PrepOptions {
        standardize: true,
        impute: Impute::Mean,
        max_categories: 32,
        hash_buckets: 1 << 18,
    };
    let params = MultinomialParams {
        l2: 1.0,
        balanced: false,
        max_iter: 100,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let t = train(
        raw,
        ytr,
        yte,
        labels.iter().map(|l| l.to_string()).collect(),
        false,
        &prep,
        &params,
        &pool,
        &mut Quiet,
    )
    .unwrap();
    let m = t.model;
    let bytes = model::encode(&m).unwrap();
    let cases = vec![
        case(
            &m,
            vec![json!(2.0), json!(1.0), json!("app")],
            "near, light, app",
        ),
        case(&m, vec![json!(35.0), json!(3.0), json!("web")], "far"),
        case(
            &m,
            vec![Value::Null, json!(15.0), json!("store")],
            "NULL distance: the mean",
        ),
        case(
            &m,
            vec![json!(10.0), json!(5.0), json!("phone")],
            "unseen channel",
        ),
    ];
    let doc = json!({"algorithm": "multinomial_logistic", "format_version": 1, "cases": cases,
                     "made_by": "crates/core/tests/multinomial_fixture.rs"});
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    std::fs::write(dir.join("multinomial-v1.bin"), bytes).unwrap();
    std::fs::write(
        dir.join("multinomial-v1.json"),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
}
