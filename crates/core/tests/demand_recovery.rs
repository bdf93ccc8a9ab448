//! Recovery of known elasticities from generated weekly sales (the issue's accuracy targets),
//! and the profit the recommended prices capture.

use shopml_core::data::keys::RawKeys;
use shopml_core::monitor::Quiet;
use shopml_core::pricing::demand::{fit, DemandInput, DemandOptions};
use shopml_core::pricing::optimal::{optimal_price, Objective, Rules};
use shopml_core::samples::demand::{generate, DemandSampleConfig};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn run(opts: &DemandOptions) -> (f64, f64, f64, f64, usize) {
    let cfg = DemandSampleConfig::default();
    let (products, weeks) = generate(&cfg);
    let input = DemandInput {
        products: RawKeys::Int(weeks.iter().map(|w| w.product_id).collect()),
        price: weeks.iter().map(|w| w.price).collect(),
        quantity: weeks.iter().map(|w| w.units as f64).collect(),
        controls: weeks.iter().map(|w| w.promo as i32 as f64).collect(),
        control_names: vec!["promo".into()],
        groups: None,
    };
    let m = fit(input, opts, &mut Quiet).unwrap();
    let mut err_old = Vec::new();
    let mut err_new = Vec::new();
    let mut err_pool_new = Vec::new();
    let mut capture = Vec::new();
    let mut shrunk_new = 0;
    for (j, p) in products.iter().enumerate() {
        let i = m.product_keys.find_int(p.product_id).unwrap() as usize;
        let d = &m.products[i];
        let err = (d.elasticity - p.true_elasticity).abs();
        if j >= cfg.n_products - cfg.n_new {
            err_new.push(err);
            err_pool_new.push((m.pools[0].mean - p.true_elasticity).abs());
            shrunk_new += d.shrunk as usize;
        } else {
            err_old.push(err);
        }
        let c = p.unit_cost;
        let profit = |price: f64| (price - c) * price.powf(p.true_elasticity);
        let best = profit(c * p.true_elasticity / (1.0 + p.true_elasticity));
        let chosen = optimal_price(d.elasticity, Some(c), &Rules::default(), Objective::Profit)
            .map(|ch| profit(ch.price))
            .unwrap_or(0.0);
        capture.push(chosen / best);
    }
    let promo = m.shared_controls.first().copied().unwrap_or(f64::NAN);
    println!(
        "median |error| 104 weeks {:.4}, 10 weeks {:.4} (pooled mean alone {:.4}); profit captured (median) {:.4}; promo lift {:.3}; pooled {:.3} tau {:.3}; shrunk new {shrunk_new}/{}",
        median(err_old.clone()),
        median(err_new.clone()),
        median(err_pool_new),
        median(capture.clone()),
        promo.exp(),
        m.pools[0].mean,
        m.pools[0].tau,
        err_new.len()
    );
    (
        median(err_old),
        median(err_new),
        median(capture),
        promo,
        shrunk_new,
    )
}

#[test]
fn elasticities_are_recovered_to_the_issue_targets() {
    let (old, new, capture, promo, shrunk_new) = run(&DemandOptions::default());
    assert!(old <= 0.15, "104-week products: median |error| {old}");
    assert!(new <= 0.45, "10-week products: median |error| {new}");
    assert!(capture >= 0.97, "median profit captured {capture}");
    assert!(
        (promo.exp() - 1.3).abs() < 0.03,
        "promotion lift {}",
        promo.exp()
    );
    assert!(
        shrunk_new > 50,
        "most 10-week products are shrunk: {shrunk_new}"
    );
}

#[test]
fn per_product_controls_also_recover() {
    let (old, _, capture, _, _) = run(&DemandOptions {
        per_product_controls: true,
        ..DemandOptions::default()
    });
    assert!(old <= 0.2, "104-week products: median |error| {old}");
    assert!(capture >= 0.95, "median profit captured {capture}");
}
