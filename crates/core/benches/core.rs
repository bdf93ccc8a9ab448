//! Criterion benches of the hot paths of crates/core (no database).
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use shopml_core::data::keys::RawKeys;
use shopml_core::data::split::{position_key, Split};
use shopml_core::linear::regression::{fit, FitOptions, LinearStats, SplitAccumulator};
use shopml_core::monitor::Quiet;
use shopml_core::recommend::als::{self, AlsParams, Factors};
use shopml_core::recommend::interactions::Interactions;
use shopml_core::recommend::model::{item_knn, train, MethodParams};
use shopml_core::rng::Rng;

fn rows(n: usize) -> Vec<(f64, [f64; 8])> {
    let mut rng = Rng::new(7);
    (0..n)
        .map(|_| {
            let x: [f64; 8] = std::array::from_fn(|_| rng.next_f64());
            let y =
                1.0 + x.iter().enumerate().map(|(j, v)| j as f64 * v).sum::<f64>() + rng.normal();
            (y, x)
        })
        .collect()
}

fn linear(c: &mut Criterion) {
    let data = rows(100_000);
    let mut g = c.benchmark_group("linear");
    g.throughput(Throughput::Elements(data.len() as u64));
    g.bench_function("stats_add_100k_x8", |b| {
        b.iter(|| {
            let mut s = LinearStats::new(8);
            for (y, x) in &data {
                s.add(*y, x);
            }
            black_box(s)
        })
    });
    let split = Split {
        test_fraction: 0.2,
        split_column: None,
        split_seed: 0,
        folds: None,
    };
    g.bench_function("split_accumulator_100k_x8", |b| {
        b.iter(|| {
            let mut s = SplitAccumulator::new(8);
            for (i, (y, x)) in data.iter().enumerate() {
                let key = position_key(i as u64);
                s.add(split.is_test(key), key, *y, x);
            }
            black_box(s)
        })
    });
    g.finish();
    let mut s = LinearStats::new(8);
    for (y, x) in &data {
        s.add(*y, x);
    }
    c.bench_function("linear_fit_from_stats_x8", |b| {
        b.iter(|| black_box(fit(&s, &FitOptions::default()).unwrap()))
    });
}

/// 100k synthetic interactions: 5k users x 2k items, popularity skewed to low item ids.
fn interactions() -> Interactions {
    let mut rng = Rng::new(11);
    let n = 100_000;
    let users: Vec<i64> = (0..n).map(|_| rng.below(5_000) as i64).collect();
    let items: Vec<i64> = (0..n)
        .map(|_| (2_000.0 * rng.next_f64().powi(2)) as i64)
        .collect();
    Interactions::build(RawKeys::Int(users), RawKeys::Int(items), vec![1.0; n], None)
}

fn recommend(c: &mut Criterion) {
    let data = interactions();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let by_item = data.by_user.transpose(data.n_items());
    let p = AlsParams {
        iterations: 1,
        ..AlsParams::default()
    };
    let mut g = c.benchmark_group("recommend");
    g.sample_size(10);
    g.bench_function("als_iteration_100k_64f_2threads", |b| {
        let mut f = Factors::init(data.n_users(), data.n_items(), p.factors, p.seed);
        b.iter(|| als::fit(&data.by_user, &by_item, &mut f, &p, &pool, &mut Quiet).unwrap())
    });
    g.bench_function("item_knn_100k_2threads", |b| {
        b.iter(|| black_box(item_knn(&data.by_user, &by_item, 100, &pool, &mut Quiet).unwrap()))
    });
    let model = train(
        &data,
        &MethodParams::Als {
            params: p.clone(),
            tune: false,
        },
        0.0,
        10,
        &pool,
        &mut Quiet,
    )
    .unwrap()
    .model;
    g.bench_function("recommend_top10_2k_items", |b| {
        let mut u = 0u32;
        b.iter(|| {
            u = (u + 1) % 5_000;
            black_box(model.recommend(Some(u), 10, true, None))
        })
    });
    g.finish();
}

criterion_group!(benches, linear, recommend);
criterion_main!(benches);
