//! Held-out quality and speed of the recommenders on a CSV of interactions, the same split and
//! metrics as `benches/reco_reference.py`:
//!
//! ```text
//! cargo run --release -p shopml-core --example reco_eval -- DATA.csv [key=value ...]
//! ```
//! keys: method (als|item_knn), factors, iterations, reg, alpha, cg, neighbors, threads,
//! test_fraction (0 = time the fit on all rows only), k.

use std::time::Instant;

use shopml_core::data::keys::RawKeys;
use shopml_core::monitor::Quiet;
use shopml_core::recommend::als::AlsParams;
use shopml_core::recommend::interactions::Interactions;
use shopml_core::recommend::model::{train, MethodParams};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: reco_eval DATA.csv [key=value ...]");
    let mut kv = std::collections::HashMap::new();
    for a in args {
        let (k, v) = a.split_once('=').expect("key=value");
        kv.insert(k.to_string(), v.to_string());
    }
    let get = |k: &str, d: f64| kv.get(k).map(|v| v.parse::<f64>().unwrap()).unwrap_or(d);
    let defaults = AlsParams::default();
    let als = AlsParams {
        factors: get("factors", defaults.factors as f64) as usize,
        iterations: get("iterations", defaults.iterations as f64) as usize,
        regularization: get("reg", defaults.regularization as f64) as f32,
        alpha: get("alpha", defaults.alpha as f64) as f32,
        cg_steps: get("cg", defaults.cg_steps as f64) as usize,
        seed: 42,
    };
    let method = match kv.get("method").map(|s| s.as_str()).unwrap_or("als") {
        "item_knn" => MethodParams::ItemKnn {
            neighbors: get("neighbors", 100.0) as usize,
        },
        _ => MethodParams::Als {
            params: als.clone(),
            tune: !kv.contains_key("reg"),
        },
    };
    let threads = get("threads", 2.0) as usize;
    let test_fraction = get("test_fraction", 0.2);
    let k = get("k", 10.0) as usize;

    let text = std::fs::read_to_string(&path).expect("read csv");
    let (mut u, mut i, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let mut f = line.split(',');
        u.push(f.next().unwrap().parse::<i64>().unwrap());
        i.push(f.next().unwrap().parse::<i64>().unwrap());
        t.push(f.next().unwrap().parse::<f64>().unwrap());
    }
    let n = u.len();
    let t0 = Instant::now();
    let data = Interactions::build(RawKeys::Int(u), RawKeys::Int(i), vec![1.0; n], Some(t));
    let build = t0.elapsed().as_secs_f64();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let t1 = Instant::now();
    let tr = train(&data, &method, test_fraction, k, &pool, &mut Quiet).unwrap();
    let secs = t1.elapsed().as_secs_f64();
    let fits = if tr.metrics.is_some() { 2.0 } else { 1.0 };
    println!(
        "rows={n} users={} items={} pairs={} build_s={build:.3} train_s={secs:.3} sec_per_iter={:.4}",
        data.n_users(),
        data.n_items(),
        data.by_user.nnz(),
        secs / fits / als.iterations as f64,
    );
    if let Some(p) = &tr.als {
        println!("regularization={} tuning={:?}", p.regularization, tr.tuning);
    }
    if let Some((m, b)) = tr.metrics {
        for (name, x) in [("shopml", m), ("popularity", b)] {
            println!(
                "{name} users={} precision={:.4} recall={:.4} ndcg={:.4} map={:.4} coverage={:.4}",
                x.users, x.precision, x.recall, x.ndcg, x.map, x.coverage
            );
        }
    }
}
