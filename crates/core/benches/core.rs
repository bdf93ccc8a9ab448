//! Criterion benches of the hot paths of crates/core (no database).
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use shopml_core::hash::hash_f64s;
use shopml_core::linear::{fit, FitOptions, LinearStats, SplitAccumulator};
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
    g.bench_function("split_accumulator_100k_x8", |b| {
        b.iter(|| {
            let mut s = SplitAccumulator::new(8, 0.2);
            for (y, x) in &data {
                s.add(None, *y, x);
            }
            black_box(s)
        })
    });
    g.bench_function("row_hash_100k_x9", |b| {
        b.iter(|| {
            let mut h = 0u64;
            for (y, x) in &data {
                h ^= hash_f64s(0, x) ^ y.to_bits();
            }
            black_box(h)
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

criterion_group!(benches, linear);
criterion_main!(benches);
