//! Golden model fixtures: model bytes that released shopml stored (format 1: shopml 0.1.0,
//! commit 682917c; format 2: shopml 0.2.0, commit 06a3b83), with what that code predicted from
//! them (`tests/fixtures/models/`, made by the programs in its `generators/`). Today's code must
//! decode every one through the model registry and answer the same, so a change that breaks
//! stored models fails here. A randomised damage test then checks that no damage to the bytes
//! (flips, truncation, and changes that keep the checksum valid) ever panics: it is either
//! XX001 or a model that passed validation and can be served.

use std::path::PathBuf;

use serde_json::Value;
use shopml_core::data::cell::Cell;
use shopml_core::data::keys::Keys;
use shopml_core::envelope;
use shopml_core::model::{self, Answer, Model, Row, Want};
use shopml_core::pricing::demand::DemandModel;
use shopml_core::recommend::model::Recommender;
use shopml_core::rng::Rng;
use shopml_core::ErrorKind;

fn fixtures() -> Vec<(String, Vec<u8>, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "bin") {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&p).unwrap();
            let json: Value =
                serde_json::from_str(&std::fs::read_to_string(p.with_extension("json")).unwrap())
                    .unwrap();
            out.push((name, bytes, json));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 16, "fixtures missing: {}", out.len());
    out
}

fn close(got: f64, want: f64, what: &str) {
    let tol = 1e-12 * want.abs().max(1.0);
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want}");
}

fn cells(input: &Value) -> Vec<Cell<'_>> {
    input
        .as_array()
        .unwrap()
        .iter()
        .map(|v| match v {
            Value::Null => Cell::Null,
            Value::String(s) => Cell::Text(s),
            n => Cell::Num(n.as_f64().unwrap()),
        })
        .collect()
}

/// The answer of a predict function, as the JSON records it (null for NULL).
fn answer(m: &dyn Model, row: &Row, want: Want) -> Option<Value> {
    match m.predict("golden", row, want) {
        Ok(Answer::Null) => Some(Value::Null),
        Ok(Answer::Number(v)) => Some(serde_json::json!(v)),
        Ok(Answer::Text(t)) => Some(Value::String(t.into_owned())),
        // Refused (e.g. predict on text labels): the fixture records null.
        Err(_) => None,
    }
}

fn same(got: Option<Value>, want: &Value, what: &str) {
    match (got, want) {
        (None, Value::Null) | (Some(Value::Null), Value::Null) => {}
        (Some(Value::Number(g)), Value::Number(w)) => {
            close(g.as_f64().unwrap(), w.as_f64().unwrap(), what)
        }
        (Some(g), w) => assert_eq!(&g, w, "{what}"),
        (None, w) => panic!("{what}: refused, want {w}"),
    }
}

/// Every case of a row model: preparation, then each predict function.
fn check_rows(name: &str, m: &dyn Model, cases: &[Value]) {
    let prep = m.prep().expect("a row model");
    for (i, c) in cases.iter().enumerate() {
        let what = format!("{name} case {i} ({})", c["note"]);
        let cells = cells(&c["input"]);
        let mut dense = vec![0.0; prep.dense_width];
        let mut hashed = Vec::new();
        let ok = prep.encode(&cells, &mut dense, &mut hashed);
        match &c["prepared"] {
            Value::Null => {
                assert!(!ok, "{what}: prepared, want NULL");
                continue;
            }
            p => {
                assert!(ok, "{what}: NULL, want prepared");
                for (j, (g, w)) in dense.iter().zip(p.as_array().unwrap()).enumerate() {
                    match w.as_f64() {
                        Some(w) => close(*g, w, &format!("{what} prepared[{j}]")),
                        // A missing value kept as missing (boosted trees).
                        None => assert!(g.is_nan(), "{what} prepared[{j}]: {g}, want missing"),
                    }
                }
            }
        }
        if let Some(h) = c.get("hashed") {
            let want: Vec<u32> = h
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect();
            assert_eq!(hashed, want, "{what} hashed");
        }
        let group = c.get("group").map(|g| g.as_str());
        let row = Row {
            dense: &dense,
            hashed: &hashed,
            group,
        };
        if let Some(want) = c.get("class_probabilities") {
            let got = m.class_probabilities("golden", &row).unwrap();
            let want = want.as_array().unwrap();
            assert_eq!(got.len(), want.len(), "{what} classes");
            for (g, w) in got.iter().zip(want) {
                close(
                    *g,
                    w.as_f64().unwrap(),
                    &format!("{what} class probability"),
                );
            }
        }
        for (key, want) in [
            ("predict", Want::Value),
            ("predict_proba", Want::Probability),
            ("predict_label", Want::Label),
        ] {
            if let Some(expected) = c.get(key) {
                same(answer(m, &row, want), expected, &format!("{what} {key}"));
            }
        }
    }
}

fn key_of(keys: &Keys, v: &Value) -> Option<u32> {
    match v {
        Value::String(s) => keys.find_text(s),
        n => keys.find_int(n.as_i64().unwrap()),
    }
}

fn key_value(keys: &Keys, i: u32) -> Value {
    match keys {
        Keys::Int(_) => serde_json::json!(keys.int(i).unwrap()),
        Keys::Text(_) => serde_json::json!(keys.text(i).unwrap()),
    }
}

fn check_recommender(name: &str, r: &Recommender, cases: &[Value]) {
    for (i, c) in cases.iter().enumerate() {
        let what = format!("{name} case {i}");
        let k = c["k"].as_u64().unwrap() as usize;
        let recs = match c["function"].as_str().unwrap() {
            "recommend_for_user" => r.recommend_on(
                key_of(&r.user_keys, &c["user"]),
                k,
                c["exclude_seen"].as_bool().unwrap(),
                None,
                None,
            ),
            "similar_items" => match key_of(&r.item_keys, &c["item"]) {
                Some(item) => r.similar(item, k),
                None => Vec::new(),
            },
            f => panic!("{what}: unknown function {f}"),
        };
        let want = c["expected"].as_array().unwrap();
        assert_eq!(recs.len(), want.len(), "{what}: list length");
        for ((item, score), w) in recs.iter().zip(want) {
            assert_eq!(key_value(&r.item_keys, *item), w["item"], "{what}: item");
            close(
                *score as f64,
                w["score"].as_f64().unwrap(),
                &format!("{what} score"),
            );
        }
    }
}

fn check_demand(name: &str, d: &DemandModel, cases: &[Value]) {
    for (i, c) in cases.iter().enumerate() {
        let what = format!("{name} case {i}");
        let p = key_of(&d.product_keys, &c["product"]).expect("known product") as usize;
        match c["function"].as_str().unwrap() {
            "demand_elasticities" => {
                let pd = &d.products[p];
                close(pd.elasticity, c["elasticity"].as_f64().unwrap(), &what);
                close(pd.std_error, c["std_error"].as_f64().unwrap(), &what);
                assert_eq!(pd.shrunk, c["shrunk"].as_bool().unwrap(), "{what}");
                assert_eq!(pd.n_obs, c["n_obs"].as_u64().unwrap(), "{what}");
                assert_eq!(
                    pd.distinct_prices as u64,
                    c["distinct_prices"].as_u64().unwrap()
                );
                close(pd.total_units, c["total_units"].as_f64().unwrap(), &what);
                match (pd.raw_elasticity, c["raw_elasticity"].as_f64()) {
                    (Some(g), Some(w)) => close(g, w, &what),
                    (None, None) => {}
                    other => panic!("{what}: raw elasticity {other:?}"),
                }
            }
            "expected_quantity" => {
                let at: Option<Vec<f64>> = (!c["at"].is_null()).then(|| {
                    c["controls_used"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_f64().unwrap())
                        .collect()
                });
                let q = d.expected_quantity(p, c["price"].as_f64().unwrap(), at.as_deref());
                close(q, c["expected_quantity"].as_f64().unwrap(), &what);
            }
            f => panic!("{what}: unknown function {f}"),
        }
    }
}

fn check(name: &str, m: &dyn Model, json: &Value) {
    let cases = json["cases"].as_array().unwrap();
    if let Some(r) = m.as_any().downcast_ref::<Recommender>() {
        check_recommender(name, r, cases);
    } else if let Some(d) = m.as_any().downcast_ref::<DemandModel>() {
        check_demand(name, d, cases);
    } else {
        check_rows(name, m, cases);
    }
}

#[test]
fn stored_models_of_every_release_still_predict_the_same() {
    let mut kinds = std::collections::BTreeSet::new();
    for (name, bytes, json) in fixtures() {
        let (header, _) = envelope::open(&bytes).unwrap();
        assert_eq!(
            header.format_version as u64,
            json["format_version"].as_u64().unwrap(),
            "{name}"
        );
        let m = model::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.kind().algorithm, json["algorithm"].as_str().unwrap());
        kinds.insert(m.kind().algorithm);
        check(&name, m.as_ref(), &json);
    }
    // Every kind in the registry has a fixture.
    for k in model::REGISTRY {
        assert!(kinds.contains(k.algorithm), "no fixture of {}", k.algorithm);
    }
}

#[test]
fn a_newer_format_says_which_version_it_needs() {
    let (_, bytes, _) = fixtures().into_iter().next().unwrap();
    let mut b = bytes.clone();
    b[4] = 9;
    b[5] = 0;
    let Err(e) = model::decode(&b) else {
        panic!("a future format decoded")
    };
    assert_eq!(e.kind, ErrorKind::DataCorrupted);
    assert!(e.message.contains("format version 9"), "{}", e.message);
    assert!(e.hint.unwrap().contains("model format 9"));
}

/// Decodes damaged bytes: an error must be XX001; a model that decodes must survive being
/// served its fixture's cases (whatever it answers). A panic anywhere fails the test.
fn survives(name: &str, bytes: &[u8], json: &Value) -> bool {
    let outcome = std::panic::catch_unwind(|| match model::decode(bytes) {
        Err(e) => {
            assert_eq!(e.kind, ErrorKind::DataCorrupted, "{name}: {e}");
            false
        }
        Ok(m) => {
            serve_anyway(m.as_ref(), json);
            true
        }
    });
    match outcome {
        Ok(decoded) => decoded,
        Err(_) => panic!("{name}: damaged bytes panicked"),
    }
}

/// Runs every case through the model, ignoring the answers.
fn serve_anyway(m: &dyn Model, json: &Value) {
    let cases = json["cases"].as_array().unwrap();
    if let Some(r) = m.as_any().downcast_ref::<Recommender>() {
        for c in cases {
            let user = c.get("user").and_then(|u| key_of(&r.user_keys, u));
            let _ = r.recommend_on(user, 5, true, None, None);
            if let Some(i) = c.get("item").and_then(|i| key_of(&r.item_keys, i)) {
                let _ = r.similar(i, 5);
            }
        }
        return;
    }
    if let Some(d) = m.as_any().downcast_ref::<DemandModel>() {
        for p in 0..d.products.len() {
            let _ = d.expected_quantity(p, 5.0, None);
        }
        return;
    }
    let prep = m.prep().unwrap();
    for c in cases {
        let cells = cells(&c["input"]);
        let mut dense = vec![0.0; prep.dense_width];
        let mut hashed = Vec::new();
        if prep.encode(&cells, &mut dense, &mut hashed) {
            let row = Row {
                dense: &dense,
                hashed: &hashed,
                group: c.get("group").map(|g| g.as_str()),
            };
            for w in [Want::Value, Want::Probability, Want::Label] {
                let _ = m.predict("damaged", &row, w);
            }
        }
        let _ = m.importance();
    }
}

#[test]
fn damaged_bytes_are_xx001_or_a_valid_model_never_a_panic() {
    // Keep the expected panics of assertions out of the output only when they happen.
    let mut rng = Rng::new(2026);
    let mut rewrapped_ok = 0usize;
    for (name, bytes, json) in fixtures() {
        let (header, body) = envelope::open(&bytes).unwrap();
        // Truncation at every length, and single byte flips anywhere: the checksum or the
        // header check catches them.
        for cut in 0..bytes.len() {
            assert!(
                !survives(&name, &bytes[..cut], &json),
                "{name}: truncated to {cut} decoded"
            );
        }
        for _ in 0..200 {
            let mut b = bytes.clone();
            let at = rng.below(b.len() as u64) as usize;
            b[at] ^= 1 << rng.below(8);
            survives(&name, &b, &json);
        }
        // Bytes that keep a valid checksum: the body damaged, then wrapped again. Postcard may
        // read them as a model with other sizes or indices; validation must catch what serving
        // would trip over.
        for _ in 0..400 {
            let mut b = body.to_vec();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(b.len() as u64) as usize;
                b[at] = rng.below(256) as u8;
            }
            if rng.below(4) == 0 {
                b.truncate(rng.below(b.len() as u64) as usize);
            }
            let wrapped = envelope::wrap(&header.algorithm, header.format_version, &b);
            if survives(&name, &wrapped, &json) {
                rewrapped_ok += 1;
            }
        }
    }
    // Some damage leaves a usable model (a changed coefficient): the test did serve those.
    assert!(rewrapped_ok > 0);
}
