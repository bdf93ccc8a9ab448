//! OLS and ridge on real data: scikit-learn's bundled diabetes data set
//! (442 rows; features age, sex, bmi, bp, s1..s6 as shipped, i.e. centred and
//! scaled; target = disease progression after one year), checked against an
//! independent textbook computation.
//!
//! Reference values (numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1,
//! statsmodels 0.15.0) were produced by the snippet below. They are numpy's
//! normal-equation formulas; statsmodels' OLS agrees with them to 4e-14
//! relative (1.4e-13 for the p-values), and a 50-digit mpmath recomputation
//! agrees to 9e-14 — except the shifted no-intercept fit, where numpy itself is
//! off by up to 3e-11 (statsmodels and mpmath agree with each other), far
//! inside the tolerances used here. sklearn's Ridge agrees with the textbook
//! ridge solve on centred data to 1.3e-15.
//!
//! ```python
//! import numpy as np, scipy.stats as st, statsmodels.api as sm
//! from sklearn.datasets import load_diabetes
//! from sklearn.linear_model import Ridge
//! d = load_diabetes(); X, y = d.data, d.target
//! with open("diabetes.csv", "w") as f:
//!     f.write(",".join(d.feature_names + ["target"]) + "\n")
//!     for row, t in zip(X, y):
//!         f.write(",".join(repr(float(v)) for v in row) + "," + repr(float(t)) + "\n")
//! def ols(X, y, intercept):
//!     A = np.column_stack([np.ones(len(y)), X]) if intercept else X
//!     XtX = A.T @ A
//!     beta = np.linalg.solve(XtX, A.T @ y)
//!     sse = np.sum((y - A @ beta) ** 2)
//!     df = len(y) - A.shape[1]
//!     se = np.sqrt(np.diag(sse / df * np.linalg.inv(XtX)))
//!     t = beta / se
//!     p = 2 * st.t.sf(np.abs(t), df)
//!     r2 = 1 - sse / np.sum((y - y.mean()) ** 2)          # centred R²
//!     return beta, se, t, p, r2
//! ols(X, y, True)                                          # OLS_*
//! sm.OLS(y, sm.add_constant(X)).fit()                      # cross-check
//! ols(X, y, False)                                         # NOINT_*
//! OFFSETS = np.array([0.5, -0.25, 1.0, 0.125, -0.5, 0.75, 2.0, -1.0, 0.375, 1.5])
//! ols(X + OFFSETS, y, False)                               # SHIFT_*
//! r = Ridge(alpha=10.0, fit_intercept=True).fit(X, y)      # RIDGE_*
//! print([repr(float(v)) for v in r.coef_], repr(float(r.intercept_)))
//! ```

use shopml_core::linear::regression::{fit, FitOptions, LinearModel, LinearStats};
use shopml_core::math::distributions::student_t_two_sided_p;

const N_ROWS: usize = 442;
const N_FEATURES: usize = 10;
/// Index of bmi among the features.
const BMI: usize = 2;

/// Exact binary offsets added to the features for the shifted no-intercept fit.
const OFFSETS: [f64; 10] = [0.5, -0.25, 1.0, 0.125, -0.5, 0.75, 2.0, -1.0, 0.375, 1.5];

/// Intercept, then age, sex, bmi, bp, s1..s6.
const OLS_BETA: [f64; 11] = [
    152.13348416289597,
    -10.009866299810652,
    -239.81564367242117,
    519.8459200544605,
    324.38464550232317,
    -792.1756385522289,
    476.73902100525623,
    101.04326793803395,
    177.0632376713458,
    751.2736995571044,
    67.62669218370348,
];
const OLS_SE: [f64; 11] = [
    2.575854485118975,
    59.74924652149317,
    61.22234394346499,
    66.53344473855088,
    65.42199205491572,
    416.6798703406283,
    339.03049482184235,
    212.531456722362,
    161.47579520020034,
    171.89998192310227,
    65.98428190748169,
];
const OLS_T: [f64; 11] = [
    59.06136586588631,
    -0.16753125574913943,
    -3.9171261377035145,
    7.813302348874938,
    4.958342528457895,
    -1.9011612869722732,
    1.4061833029379216,
    0.4754273531848542,
    1.0965311392448627,
    4.370411742644505,
    1.024890932033248,
];
const OLS_P: [f64; 11] = [
    1.0100819291679277e-208,
    0.8670306337000832,
    0.00010416711927694258,
    4.296391419518795e-14,
    1.024278392211404e-06,
    0.05794760536919761,
    0.1603902400149663,
    0.6347232557752053,
    0.2734586936606769,
    1.555899086539268e-05,
    0.3059895261964304,
];
const OLS_R2: f64 = 0.5177484222203499;

// OLS without an intercept, on the bundled (centred) features.
const NOINT_BETA: [f64; 10] = [
    -10.009866299812508,
    -239.81564367242436,
    519.8459200544322,
    324.384645502323,
    -792.17563855255,
    476.7390210055276,
    101.04326793815514,
    177.06323767135504,
    751.2736995572444,
    67.62669218370657,
];
const NOINT_SE: [f64; 10] = [
    179.9665381192086,
    184.40355211986605,
    200.40074839162077,
    197.05301928368678,
    1255.0523752996467,
    1021.1701071072335,
    640.151177370868,
    486.3699802770358,
    517.7679460497794,
    198.74665333059403,
];
const NOINT_T: [f64; 10] = [
    -0.0556207081851074,
    -1.300493623444625,
    2.5940318298540257,
    1.6461795240768355,
    -0.6311893066322561,
    0.4668556371631676,
    0.15784282136782868,
    0.3640505065104964,
    1.4509853406124433,
    0.3402658160548581,
];
const NOINT_P: [f64; 10] = [
    0.955669681684663,
    0.19412517386026037,
    0.009808118174028047,
    0.10045407004837699,
    0.5282505623540266,
    0.6408385255075119,
    0.8746544064353827,
    0.7159984050332122,
    0.1475096714535385,
    0.7338217495376288,
];
/// Centred R² (1 - SSE / Σ(y - ȳ)², as scikit-learn's r2_score; statsmodels
/// reports the uncentred 0.105597360593925 for a model without a constant).
const NOINT_R2: f64 = -3.3852947912492795;

// OLS without an intercept, on the features shifted by OFFSETS.
const SHIFT_BETA: [f64; 10] = [
    -7.341543072891851,
    -239.07436934635066,
    518.0253765164609,
    326.92040629379954,
    -7.293335512271658,
    -150.36738201806932,
    -259.12132434742693,
    91.74318688951504,
    457.0501988897562,
    56.58758881841107,
];
const SHIFT_SE: [f64; 10] = [
    59.92239298143274,
    61.41493611959907,
    66.73737037269166,
    65.61589659764496,
    94.49774295816191,
    99.16083863205434,
    102.6900403351208,
    155.82250606125135,
    80.24531426982693,
    65.94495431214362,
];
const SHIFT_T: [f64; 10] = [
    -0.12251752154101499,
    -3.8927724174584943,
    7.762148457806668,
    4.982335428539022,
    -0.07717999693919379,
    -1.5163988535436022,
    -2.5233345269103515,
    0.5887672404232304,
    5.695662146115013,
    0.8581033895415193,
];
const SHIFT_P: [f64; 10] = [
    0.9025461445430589,
    0.00011476735568504403,
    6.100263983924465e-14,
    9.104038567718977e-07,
    0.9385160865535557,
    0.13014990259543283,
    0.011982560825910345,
    0.5563251407689305,
    2.2751492067402648e-08,
    0.39131120660186575,
];
const SHIFT_R2: f64 = 0.5135644977039208;

// scikit-learn Ridge(alpha=10.0, fit_intercept=True).
const RIDGE_COEF: [f64; 10] = [
    19.8128418078131,
    -0.9184297351108011,
    75.4162139833578,
    55.02515953255987,
    19.924621109788305,
    13.948715419809332,
    -47.553815799274176,
    48.25943319617336,
    70.14394832670594,
    44.21389238214693,
];
const RIDGE_INTERCEPT: f64 = 152.13348416289594;

// ---------------------------------------------------------------------------

/// (target, features) for every row of tests/data/diabetes.csv.
fn load() -> Vec<(f64, Vec<f64>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/diabetes.csv");
    let text = std::fs::read_to_string(path).expect("read diabetes.csv");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("age,sex,bmi,bp,s1,s2,s3,s4,s5,s6,target")
    );
    let rows: Vec<(f64, Vec<f64>)> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<f64> = l
                .split(',')
                .map(|s| s.trim().parse::<f64>().expect("number"))
                .collect();
            assert_eq!(v.len(), N_FEATURES + 1);
            (v[N_FEATURES], v[..N_FEATURES].to_vec())
        })
        .collect();
    assert_eq!(rows.len(), N_ROWS);
    rows
}

fn accumulate<'a>(
    n_features: usize,
    rows: impl IntoIterator<Item = &'a (f64, Vec<f64>)>,
) -> LinearStats {
    let mut s = LinearStats::new(n_features);
    for (y, x) in rows {
        s.add(*y, x);
    }
    s
}

const OLS: FitOptions = FitOptions {
    l2: 0.0,
    fit_intercept: true,
};
const OLS_NO_INTERCEPT: FitOptions = FitOptions {
    l2: 0.0,
    fit_intercept: false,
};

#[track_caller]
fn assert_rel(got: f64, want: f64, tol: f64, what: &str) {
    let err = ((got - want) / want).abs();
    assert!(
        err <= tol,
        "{what}: got {got:e}, want {want:e} (relative error {err:e} > {tol:e})"
    );
}

/// p-values: 1e-6 relative, or 1e-12 absolute for tiny ones.
#[track_caller]
fn assert_p(got: f64, want: f64, what: &str) {
    let err = (got - want).abs();
    assert!(
        err <= 1e-6 * want.abs() || (want < 1e-12 && err <= 1e-12),
        "{what}: got {got:e}, want {want:e}"
    );
}

#[track_caller]
fn some(v: Option<f64>, what: &str) -> f64 {
    v.unwrap_or_else(|| panic!("{what}: expected a value, got None"))
}

const NAMES: [&str; 10] = [
    "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
];

/// The parts of a fit that the OLS-with-intercept reference covers, with one
/// feature (an aliased extra column) optionally left out.
struct OlsView {
    n: u64,
    df_resid: f64,
    intercept: f64,
    intercept_std_error: Option<f64>,
    coefficients: Vec<Option<f64>>,
    std_errors: Vec<Option<f64>>,
    t_stats: Vec<Option<f64>>,
    p_values: Vec<Option<f64>>,
    r2: f64,
}

fn view(m: &LinearModel, skip: Option<usize>) -> OlsView {
    let keep = |v: &[Option<f64>]| -> Vec<Option<f64>> {
        v.iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != skip)
            .map(|(_, x)| *x)
            .collect()
    };
    OlsView {
        n: m.n,
        df_resid: m.df_resid,
        intercept: m.intercept,
        intercept_std_error: m.intercept_std_error,
        coefficients: keep(&m.coefficients),
        std_errors: keep(&m.std_errors),
        t_stats: keep(&m.t_stats),
        p_values: keep(&m.p_values),
        r2: m.r2,
    }
}

/// A reference fit: per feature its slope, standard error, t statistic and p-value, and R².
type Reference<'a> = (&'a [f64], &'a [f64], &'a [f64], &'a [f64], f64);

const NOINT: Reference = (&NOINT_BETA, &NOINT_SE, &NOINT_T, &NOINT_P, NOINT_R2);
const SHIFT: Reference = (&SHIFT_BETA, &SHIFT_SE, &SHIFT_T, &SHIFT_P, SHIFT_R2);

/// Checks the slopes, standard errors, t statistics and p-values of the ten
/// features and R² against a reference.
#[track_caller]
fn check_features(v: &OlsView, (beta, se, t, p, r2): Reference, what: &str) {
    assert!((v.r2 - r2).abs() <= 1e-9, "{what}: r2 {} vs {r2}", v.r2);
    assert_eq!(
        v.coefficients.len(),
        N_FEATURES,
        "{what}: number of coefficients"
    );
    for j in 0..N_FEATURES {
        let name = format!("{what} {}", NAMES[j]);
        let c = some(v.coefficients[j], &format!("{name} coefficient"));
        assert_rel(c, beta[j], 1e-6, &format!("{name} coefficient"));
        let s = some(v.std_errors[j], &format!("{name} std error"));
        assert_rel(s, se[j], 1e-6, &format!("{name} std error"));
        assert_rel(
            some(v.t_stats[j], &format!("{name} t")),
            t[j],
            1e-6,
            &format!("{name} t"),
        );
        assert_p(
            some(v.p_values[j], &format!("{name} p")),
            p[j],
            &format!("{name} p-value"),
        );
    }
}

/// The full OLS-with-intercept comparison.
#[track_caller]
fn check_ols(v: &OlsView, what: &str) {
    assert_eq!(v.n, N_ROWS as u64, "{what}: n");
    assert_eq!(v.df_resid, 431.0, "{what}: df_resid");
    assert_rel(v.intercept, OLS_BETA[0], 1e-6, &format!("{what} intercept"));
    let se0 = some(v.intercept_std_error, "intercept std error");
    assert_rel(se0, OLS_SE[0], 1e-6, &format!("{what} intercept std error"));
    // The intercept's t statistic, and its p-value (1e-208) through the same
    // t distribution the model uses.
    assert_rel(
        v.intercept / se0,
        OLS_T[0],
        1e-6,
        &format!("{what} intercept t"),
    );
    assert_rel(
        student_t_two_sided_p(OLS_T[0], v.df_resid),
        OLS_P[0],
        1e-10,
        &format!("{what} intercept p-value"),
    );
    let features = (
        &OLS_BETA[1..],
        &OLS_SE[1..],
        &OLS_T[1..],
        &OLS_P[1..],
        OLS_R2,
    );
    check_features(v, features, what);
}

#[test]
fn ols_with_intercept_matches_textbook_reference() {
    let rows = load();
    let s = accumulate(N_FEATURES, &rows);
    let m = fit(&s, &OLS).unwrap();
    check_ols(&view(&m, None), "OLS");
}

#[test]
fn merged_chunks_give_the_same_fit() {
    let rows = load();
    let whole = fit(&accumulate(N_FEATURES, &rows), &OLS).unwrap();
    // Three uneven chunks, merged left to right and in a different order.
    let (c1, rest) = rows.split_at(97);
    let (c2, c3) = rest.split_at(211);
    let (a, b, c) = (
        accumulate(N_FEATURES, c1),
        accumulate(N_FEATURES, c2),
        accumulate(N_FEATURES, c3),
    );
    let mut left = a.clone();
    left.merge(&b);
    left.merge(&c);
    let mut right = c.clone();
    let mut bc = b.clone();
    bc.merge(&a);
    right.merge(&bc);
    // Merging into an empty accumulation is the identity.
    let mut from_empty = LinearStats::new(N_FEATURES);
    from_empty.merge(&left);
    for (merged, label) in [
        (&left, "merged a+b+c"),
        (&right, "merged c+(b+a)"),
        (&from_empty, "empty+merged"),
    ] {
        let m = fit(merged, &OLS).unwrap();
        check_ols(&view(&m, None), label);
        // ... and agrees with the one-pass fit far more tightly than with the reference.
        assert_rel(
            m.intercept,
            whole.intercept,
            1e-9,
            &format!("{label} vs one pass: intercept"),
        );
        for (j, name) in NAMES.iter().enumerate() {
            let what = format!("{label} vs one pass: {name}");
            assert_rel(
                m.coefficients[j].unwrap(),
                whole.coefficients[j].unwrap(),
                1e-9,
                &what,
            );
            assert_rel(
                m.std_errors[j].unwrap(),
                whole.std_errors[j].unwrap(),
                1e-9,
                &what,
            );
        }
        assert!((m.r2 - whole.r2).abs() <= 1e-12);
    }
}

#[test]
fn ols_without_intercept_matches_textbook_reference() {
    let rows = load();
    let m = fit(&accumulate(N_FEATURES, &rows), &OLS_NO_INTERCEPT).unwrap();
    assert_eq!(m.n, N_ROWS as u64);
    assert_eq!(m.df_resid, 432.0);
    assert_eq!(m.intercept, 0.0);
    assert_eq!(m.intercept_std_error, None);
    check_features(&view(&m, None), NOINT, "no intercept");
}

#[test]
fn ols_without_intercept_on_shifted_features_matches_textbook_reference() {
    let shifted: Vec<(f64, Vec<f64>)> = load()
        .into_iter()
        .map(|(y, x)| (y, x.iter().zip(OFFSETS).map(|(v, o)| v + o).collect()))
        .collect();
    let m = fit(&accumulate(N_FEATURES, &shifted), &OLS_NO_INTERCEPT).unwrap();
    assert_eq!(m.df_resid, 432.0);
    assert_eq!(m.intercept, 0.0);
    check_features(&view(&m, None), SHIFT, "shifted, no intercept");
}

#[test]
fn ridge_matches_scikit_learn() {
    let rows = load();
    let opts = FitOptions {
        l2: 10.0,
        fit_intercept: true,
    };
    let m = fit(&accumulate(N_FEATURES, &rows), &opts).unwrap();
    assert_rel(m.intercept, RIDGE_INTERCEPT, 1e-8, "ridge intercept");
    for j in 0..N_FEATURES {
        let what = format!("ridge {}", NAMES[j]);
        assert_rel(some(m.coefficients[j], &what), RIDGE_COEF[j], 1e-8, &what);
    }
}

/// Fits the 10 features plus an extra 11th column made by `extra`, and checks
/// that the extra column is aliased while everything else is the plain OLS fit.
fn check_extra_column_aliased(extra: impl Fn(&[f64]) -> f64, extra_first: bool, what: &str) {
    let rows: Vec<(f64, Vec<f64>)> = load()
        .into_iter()
        .map(|(y, mut x)| {
            let e = extra(&x);
            if extra_first {
                x.insert(0, e);
            } else {
                x.push(e);
            }
            (y, x)
        })
        .collect();
    let m = fit(&accumulate(N_FEATURES + 1, &rows), &OLS).unwrap();
    let extra_idx = if extra_first { 0 } else { N_FEATURES };
    assert_eq!(m.coefficients.len(), N_FEATURES + 1);
    assert_eq!(m.coefficients[extra_idx], None, "{what}: coefficient");
    assert_eq!(m.std_errors[extra_idx], None, "{what}: std error");
    assert_eq!(m.t_stats[extra_idx], None, "{what}: t");
    assert_eq!(m.p_values[extra_idx], None, "{what}: p-value");
    // The remaining columns are the ordinary fit, with the ordinary df.
    check_ols(&view(&m, Some(extra_idx)), what);
}

#[test]
fn duplicated_column_is_aliased() {
    check_extra_column_aliased(|x| x[BMI], false, "bmi duplicated as 11th feature");
}

#[test]
fn constant_column_is_aliased() {
    check_extra_column_aliased(|_| 3.0, false, "constant 11th feature");
    check_extra_column_aliased(|_| -0.75, true, "constant first feature");
}
