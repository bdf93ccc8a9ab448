//! Statistical distribution functions, implemented from scratch.
//!
//! Everything here works in `f64` and aims at close to full double precision:
//! roughly 1e-14 relative for the special functions in their usual ranges and
//! better than 1e-12 relative for the tail probabilities (p-values), right
//! down to the subnormal range (~1e-300). Tail probabilities are always
//! computed *directly* in the tail rather than as `1 - cdf`, so tiny p-values
//! keep their relative accuracy.
//!
//! What shopml uses: [`student_t_two_sided_p`] (p-values of linear coefficients) and
//! [`normal_two_sided_p`] (z-tests, e.g. of logistic coefficients). They rest on `ln Γ`
//! (Lanczos, with reflection and Taylor series next to the zeros at 1 and 2), `ln B` (a
//! Stirling-based form for large arguments), the regularized incomplete beta function (a
//! modified-Lentz continued fraction, and DiDonato & Morris's expansion for the large-df t),
//! parts of the incomplete gamma function, and Cody's rational approximations of `erfc`.
//! `erfc`, Φ and the t CDF, which nothing else uses, are test-only: through them the
//! SciPy/mpmath reference tables at the end check those pieces.
//! They are written here rather than taken from `statrs` because statrs's t p-value is off
//! by up to 1e-5 relative at 10⁹ degrees of freedom and meaningless beyond 10¹⁵ (shopml's df
//! is a table's row count), while these stay within 1.1e-13 on every table row
//! (docs/decisions.md).
//!
//! Invalid arguments (negative degrees of freedom, `x` outside a domain, …)
//! give `NaN` rather than panicking.

// Published coefficients are kept digit for digit as printed.
#![allow(clippy::excessive_precision)]

use std::f64::consts::PI;

/// `ln(sqrt(2π))`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// `1 / sqrt(π)`.
const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_3;

/// Relative convergence tolerance of the series and continued fractions.
const EPS: f64 = 1e-16;
/// Smallest magnitude allowed in the Lentz recurrences (guards against a zero
/// denominator).
const LENTZ_TINY: f64 = 1e-300;
/// Safety cap on the iterations of the series and continued fractions. They
/// need roughly `O(sqrt(max(a, b)))` terms, far fewer than this for any
/// parameters met in practice.
const MAX_ITER: usize = 5_000_000;

// ---------------------------------------------------------------------------
// Gamma and beta functions
// ---------------------------------------------------------------------------

/// Lanczos approximation with `g = 7` and nine terms (the coefficient set
/// computed by P. Godfrey), good to about 1e-15 relative in `Γ(x)`.
const LANCZOS_G: f64 = 7.0;
const LANCZOS_COEF: [f64; 9] = [
    0.999_999_999_999_809_93,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_13,
    -176.615_029_162_140_59,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_571_6e-6,
    1.505_632_735_149_311_6e-7,
];

/// Natural logarithm of the absolute value of the gamma function,
/// `ln |Γ(x)|`.
///
/// Uses the Lanczos approximation for `x >= 0.5` and the reflection formula
/// `Γ(x) Γ(1 - x) = π / sin(πx)` below that; within 0.2 of the zeros at
/// `x = 1` and `x = 2` a Taylor series keeps the relative accuracy. The error
/// is about 1e-15 (absolute for moderate `x`, relative for large `x`).
///
/// Returns `+inf` at the poles (`x = 0, -1, -2, …`) and for `x = ±inf`,
/// `NaN` for `NaN`.
fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    if x < 0.5 {
        if x == x.floor() {
            // Pole of Γ at zero and the negative integers.
            return f64::INFINITY;
        }
        // Reflection: ln|Γ(x)| = ln(π / |sin(πx)|) - ln Γ(1 - x).
        // sin(πx) is evaluated on a reduced argument for accuracy.
        let s = sin_pi(x).abs();
        return (PI / s).ln() - ln_gamma(1.0 - x);
    }
    // Near the zeros of ln Γ at 1 and 2 the Lanczos sum is only accurate in
    // absolute terms; use the Taylor series there (x - 1, x - 2 are exact).
    if (x - 1.0).abs() <= 0.2 {
        return ln_gamma_1p_series(x - 1.0);
    }
    if (x - 2.0).abs() <= 0.2 {
        let e = x - 2.0;
        return e.ln_1p() + ln_gamma_1p_series(e);
    }
    // Γ(x) = sqrt(2π) t^(x - 1/2) e^(-t) A(x - 1),  t = x - 1 + g + 1/2.
    let z = x - 1.0;
    let mut sum = LANCZOS_COEF[0];
    for (k, &c) in LANCZOS_COEF.iter().enumerate().skip(1) {
        sum += c / (z + k as f64);
    }
    let t = z + LANCZOS_G + 0.5;
    LN_SQRT_2PI + (z + 0.5) * t.ln() - t + sum.ln()
}

/// Taylor coefficients of `ln Γ(1 + e) = -γ e + Σ_{k>=2} (-1)^k ζ(k) / k · e^k`
/// (index 0 holds the coefficient of `e¹`).
const LN_GAMMA_1P_COEF: [f64; 30] = [
    -0.5772156649015329,
    0.8224670334241132,
    -0.40068563438653143,
    0.27058080842778454,
    -0.20738555102867398,
    0.1695571769974082,
    -0.1440498967688461,
    0.12550966952474304,
    -0.11133426586956469,
    0.1000994575127818,
    -0.09095401714582904,
    0.083353840546109,
    -0.0769325164113522,
    0.07143294629536133,
    -0.06666870588242046,
    0.06250095514121304,
    -0.058823978658684585,
    0.055555767627403614,
    -0.05263167937961666,
    0.05000004769810169,
    -0.047619070330142226,
    0.04545455629320467,
    -0.04347826605304026,
    0.04166666915034121,
    -0.04000000119214014,
    0.03846153903467518,
    -0.037037037312989324,
    0.035714285847333355,
    -0.034482758684919304,
    0.03333333336437758,
];

/// `ln Γ(1 + e)` for `|e| <= 0.2` from its Taylor series (truncation error
/// below 1e-18), which keeps full relative accuracy next to the zero at `e = 0`.
fn ln_gamma_1p_series(e: f64) -> f64 {
    let mut acc = 0.0;
    for &c in LN_GAMMA_1P_COEF.iter().rev() {
        acc = acc * e + c;
    }
    acc * e
}

/// `sin(πx)` with the argument reduced modulo 2 first, so that it is exact
/// at integers and accurate for large `|x|`.
fn sin_pi(x: f64) -> f64 {
    // x % 2 is exact and lies in (-2, 2); shift it into [-1, 1].
    let r = x % 2.0;
    let r = if r > 1.0 {
        r - 2.0
    } else if r < -1.0 {
        r + 2.0
    } else {
        r
    };
    // Fold onto [-1/2, 1/2] using sin(π(1 - r)) = sin(πr).
    let r = if r > 0.5 {
        1.0 - r
    } else if r < -0.5 {
        -1.0 - r
    } else {
        r
    };
    (PI * r).sin()
}

/// Remainder of Stirling's series,
/// `δ(x) = ln Γ(x) - [(x - 1/2) ln x - x + ln sqrt(2π)]`, for `x >= 10`.
///
/// The asymptotic series `Σ B_{2k} / (2k (2k-1) x^(2k-1))` is truncated after
/// seven terms, which is below 1e-17 absolute for `x >= 10`.
fn stirling_remainder(x: f64) -> f64 {
    debug_assert!(x >= 10.0);
    let r = 1.0 / x;
    let r2 = r * r;
    // B2/2, B4/12, B6/30, B8/56, B10/90, B12/132, B14/182.
    let c = [
        1.0 / 12.0,
        -1.0 / 360.0,
        1.0 / 1260.0,
        -1.0 / 1680.0,
        1.0 / 1188.0,
        -691.0 / 360_360.0,
        1.0 / 156.0,
    ];
    let mut acc = 0.0;
    for &ck in c.iter().rev() {
        acc = acc * r2 + ck;
    }
    acc * r
}

/// Natural logarithm of the beta function, `ln B(a, b)` for `a, b > 0`.
///
/// When one or both arguments are at least 10 the large gamma terms are
/// combined analytically (Stirling's formula plus its remainder) so the
/// result does not suffer from cancellation between huge `ln Γ` values.
/// Returns `NaN` for non-positive or `NaN` arguments.
fn ln_beta(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() || a <= 0.0 || b <= 0.0 {
        return f64::NAN;
    }
    let (p, q) = if a < b { (a, b) } else { (b, a) };
    if q.is_infinite() {
        return f64::NEG_INFINITY;
    }
    if p >= 10.0 {
        let corr = stirling_remainder(p) + stirling_remainder(q) - stirling_remainder(p + q);
        let w = p / (p + q);
        -0.5 * q.ln() + LN_SQRT_2PI + corr + (p - 0.5) * w.ln() + q * (-w).ln_1p()
    } else if q >= 10.0 {
        let corr = stirling_remainder(q) - stirling_remainder(p + q);
        let w = p / (p + q);
        ln_gamma(p) + corr + p - p * (p + q).ln() + (q - 0.5) * (-w).ln_1p()
    } else {
        ln_gamma(p) + ln_gamma(q) - ln_gamma(p + q)
    }
}

// ---------------------------------------------------------------------------
// Regularized incomplete beta
// ---------------------------------------------------------------------------

/// Computes one of the two tails `I_x(a, b)` / `1 - I_x(a, b) = I_y(b, a)`
/// accurately and returns `(lower, upper)` where exactly one of the two is
/// the directly computed value and the other is `1 - ` it.
///
/// The caller provides `x`, `y = 1 - x` and their logarithms separately so
/// that each can be computed without rounding loss (e.g. `x` tiny, `y`
/// close to one, or `x` underflowing while `ln x` is still finite).
fn ibeta_both(a: f64, b: f64, x: f64, y: f64, ln_x: f64, ln_y: f64) -> (f64, f64) {
    // The continued fraction converges rapidly for x < (a + 1) / (a + b + 2),
    // i.e. y > (b + 1) / (a + b + 2); on the other side swap to I_y(b, a).
    // The comparison uses whichever of x and y is the smaller (and thus the
    // exactly known) one: for huge a, b, x may round to 1.
    let lower_side = if x <= 0.5 {
        x * (a + b + 2.0) < a + 1.0
    } else {
        y * (a + b + 2.0) > b + 1.0
    };
    if lower_side {
        let lower = ibeta_tail(a, b, x, ln_x, ln_y);
        (lower, 1.0 - lower)
    } else {
        let upper = ibeta_tail(b, a, y, ln_y, ln_x);
        (1.0 - upper, upper)
    }
}

/// `I_x(a, b)` on the side `x < (a + 1) / (a + b + 2)`: the asymptotic
/// expansion when `a` is large, `b <= 1` and `x` is not small, else the
/// continued fraction.
fn ibeta_tail(a: f64, b: f64, x: f64, ln_x: f64, ln_y: f64) -> f64 {
    if a >= IBETA_ASYMPTOTIC_A && b <= 1.0 && x >= 0.5 {
        ibeta_large_a_small_b(a, b, ln_x)
    } else {
        ibeta_direct(a, b, x, ln_x, ln_y)
    }
}

/// Smallest `a` for which [`ibeta_tail`] uses the asymptotic expansion.
const IBETA_ASYMPTOTIC_A: f64 = 50.0;

/// `I_x(a, b)` from the prefactor `x^a (1-x)^b / (a B(a, b))` times the
/// continued fraction. Accurate when `x < (a + 1) / (a + b + 2)`.
fn ibeta_direct(a: f64, b: f64, x: f64, ln_x: f64, ln_y: f64) -> f64 {
    let log_front = a * ln_x + b * ln_y - ln_beta(a, b);
    let front = log_front.exp() / a;
    if front == 0.0 {
        return 0.0;
    }
    front * ibeta_continued_fraction(a, b, x)
}

/// The continued fraction
///
/// ```text
///              1
///   ------------------------
///   1 + d1 / (1 + d2 / (1 + d3 / (1 + ...)))
/// ```
///
/// whose partial numerators are, for `m = 0, 1, 2, …`,
///
/// ```text
///   d(2m+1) = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
///   d(2m)   =  m (b - m) x / ((a + 2m - 1)(a + 2m))          (m >= 1)
/// ```
///
/// It is evaluated front to back with the modified Lentz method: keep the
/// ratios `C_j = A_j / A_{j-1}` and `D_j = B_{j-1} / B_j` of successive
/// numerators/denominators of the convergents, update the value by the
/// factor `C_j D_j`, and stop when that factor is 1 to working precision.
/// Any `C` or `D` that would be zero is nudged to a tiny number instead.
fn ibeta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    // Convergent f_0 = 1 / (1 + d1 ...). Start with the leading "1 +" term:
    // value := 1 (the b_0 term), C := value, D := 0, then fold in each
    // partial numerator d_j with partial denominator 1.
    let nudge = |v: f64| {
        if v.abs() < LENTZ_TINY {
            LENTZ_TINY
        } else {
            v
        }
    };
    let mut value = 1.0;
    let mut c = value;
    let mut d = 0.0;
    let mut m = 0.0_f64;
    for j in 1..=MAX_ITER {
        let num = if j % 2 == 1 {
            // d(2m+1)
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))
        } else {
            m += 1.0;
            // d(2m)
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m))
        };
        d = 1.0 / nudge(1.0 + num * d);
        c = nudge(1.0 + num / c);
        let factor = c * d;
        value *= factor;
        if (factor - 1.0).abs() < EPS {
            break;
        }
    }
    // `value` is the denominator 1 + d1/(1 + ...); the fraction is its inverse.
    1.0 / value
}

/// `I_x(a, b)` for large `a` and `b <= 1` by the asymptotic expansion of
/// DiDonato & Morris (ACM TOMS 18 (1992), Algorithm 708, "BGRAT"), given
/// `ln x` (negative).
///
/// With `T = a + (b - 1)/2` and `u = -T ln x`,
///
/// ```text
///   I_x(a, b) = Γ(a+b) / (Γ(a) T^b) · h(b, u) · Σ_{n>=0} p_n J_n,
///   h(b, u)   = u^b e^{-u} / Γ(b),
///   J_0       = Q(b, u) / h(b, u),
///   J_n       = [(b+2n-2)(b+2n-1) J_{n-1} + (u+b+2n-1) (ln x / 2)^(2n-2)] / (4 T²),
///   p_0 = 1,  p_n = (b-1)/(2n+1)! + (1/n) Σ_{m=1}^{n-1} (m b - n) p_{n-m} / (2m+1)!.
/// ```
///
/// The series is in powers of `1/T²`, so it is very accurate for large `a`
/// where the continued fraction needs many terms and accumulates rounding
/// error (the regime of Student's t with many degrees of freedom, where
/// `b = 1/2` and `x` is close to 1). Its leading term is the incomplete
/// gamma `Q(b, u)`, i.e. the normal tail for `b = 1/2`.
fn ibeta_large_a_small_b(a: f64, b: f64, ln_x: f64) -> f64 {
    const TERMS: usize = 30;
    let t = a + 0.5 * (b - 1.0);
    let u = -t * ln_x;
    // Γ(a+b)/Γ(a) = Γ(b) / B(a, b); combined with h in the log domain so
    // that nothing underflows before the final product.
    let ln_scale = ln_gamma(b) - ln_beta(a, b) - b * t.ln() + ln_gamma_prefactor(b, u);
    let scale = ln_scale.exp();
    if scale == 0.0 {
        return 0.0;
    }
    let mut j = gamma_q_scaled(b, u);
    let mut sum = j; // p_0 J_0
    let half_lx_sq = (0.5 * ln_x) * (0.5 * ln_x);
    let four_t_sq = 4.0 * t * t;
    let mut lx_pow = 1.0; // (ln x / 2)^(2n-2)
    let mut p = [0.0_f64; TERMS];
    p[0] = 1.0;
    // inv_odd_fact[m] = 1 / (2m+1)!
    let mut inv_odd_fact = [0.0_f64; TERMS];
    inv_odd_fact[0] = 1.0;
    for m in 1..TERMS {
        inv_odd_fact[m] = inv_odd_fact[m - 1] / ((2 * m) as f64 * (2 * m + 1) as f64);
    }
    let mut b2n = b; // b + 2n - 2
    for n in 1..TERMS {
        let nf = n as f64;
        let mut pn = 0.0;
        for m in 1..n {
            pn += (m as f64 * b - nf) * p[n - m] * inv_odd_fact[m];
        }
        p[n] = pn / nf + (b - 1.0) * inv_odd_fact[n];
        j = (b2n * (b2n + 1.0) * j + (u + b2n + 1.0) * lx_pow) / four_t_sq;
        lx_pow *= half_lx_sq;
        b2n += 2.0;
        let term = p[n] * j;
        sum += term;
        if term.abs() <= EPS * sum.abs() {
            break;
        }
    }
    scale * sum
}

// ---------------------------------------------------------------------------
// Incomplete gamma pieces (the incomplete beta uses them for large a, small b)
// ---------------------------------------------------------------------------

/// `ln(x^a e^{-x} / Γ(a))`, the common prefactor of the incomplete gamma
/// expansions, computed without cancellation for large `a`.
fn ln_gamma_prefactor(a: f64, x: f64) -> f64 {
    if a < 10.0 {
        a * x.ln() - x - ln_gamma(a)
    } else {
        // a ln x - x - [(a - 1/2) ln a - a + ln sqrt(2π) + δ(a)]
        //   = a (ln(1 + d) - d) + ln(a)/2 - ln sqrt(2π) - δ(a),  d = (x - a)/a
        let d = (x - a) / a;
        a * ((d).ln_1p() - d) + 0.5 * a.ln() - LN_SQRT_2PI - stirling_remainder(a)
    }
}

/// `P(a, x) = x^a e^{-x} / Γ(a + 1) · Σ_{n>=0} x^n / ((a+1)(a+2)…(a+n))`.
fn gamma_p_series(a: f64, x: f64) -> f64 {
    let front = (ln_gamma_prefactor(a, x)).exp() / a;
    if front == 0.0 {
        return 0.0;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut ap = a;
    for _ in 0..MAX_ITER {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term < sum * EPS {
            break;
        }
    }
    front * sum
}

/// The continued fraction part of `Q(a, x)`,
///
/// ```text
///   Q(a, x) Γ(a) e^x x^(-a) = 1 / (x + 1 - a - 1(1-a) / (x + 3 - a - 2(2-a) / (x + 5 - a - …)))
/// ```
///
/// evaluated with the modified Lentz method (see
/// [`ibeta_continued_fraction`]). Converges quickly for `x >= a + 1`.
fn gamma_q_continued_fraction_core(a: f64, x: f64) -> f64 {
    let nudge = |v: f64| {
        if v.abs() < LENTZ_TINY {
            LENTZ_TINY
        } else {
            v
        }
    };
    // Denominator value := b_0 = x + 1 - a; then fold in a_j = -j (j - a),
    // b_j = x + 2j + 1 - a.
    let mut bj = x + 1.0 - a;
    let mut value = nudge(bj);
    let mut c = value;
    let mut d = 0.0;
    for j in 1..=MAX_ITER {
        let jf = j as f64;
        let aj = -jf * (jf - a);
        bj += 2.0;
        d = 1.0 / nudge(bj + aj * d);
        c = nudge(bj + aj / c);
        let factor = c * d;
        value *= factor;
        if (factor - 1.0).abs() < EPS {
            break;
        }
    }
    1.0 / value
}

/// `Q(a, x) / h` with `h = x^a e^{-x} / Γ(a)`, i.e. the upper incomplete
/// gamma function with its exponential factor divided out, for `x > 0`.
fn gamma_q_scaled(a: f64, x: f64) -> f64 {
    if x >= a + 1.0 {
        gamma_q_continued_fraction_core(a, x)
    } else {
        // Here h is not small (x < a + 1), so dividing by it is harmless.
        (1.0 - gamma_p_series(a, x)) / ln_gamma_prefactor(a, x).exp()
    }
}

// ---------------------------------------------------------------------------
// Error function and the normal distribution
// ---------------------------------------------------------------------------

// W. J. Cody, "Rational Chebyshev approximations for the error function",
// Math. Comp. 23 (1969) 631-637; coefficients as in his CALERF routine.

/// erf(x) ≈ x · A(x²) / B(x²) for |x| <= 0.46875.
const ERF_A: [f64; 5] = [
    3.161_123_743_870_565_60e0,
    1.138_641_541_510_501_56e2,
    3.774_852_376_853_020_21e2,
    3.209_377_589_138_469_47e3,
    1.857_777_061_846_031_53e-1,
];
const ERF_B: [f64; 4] = [
    2.360_129_095_234_412_09e1,
    2.440_246_379_344_441_73e2,
    1.282_616_526_077_372_28e3,
    2.844_236_833_439_170_62e3,
];
/// erfc(x) ≈ exp(-x²) · C(x) / D(x) for 0.46875 <= x <= 4.
const ERF_C: [f64; 9] = [
    5.641_884_969_886_700_89e-1,
    8.883_149_794_388_375_94e0,
    6.611_919_063_714_162_95e1,
    2.986_351_381_974_001_31e2,
    8.819_522_212_417_690_90e2,
    1.712_047_612_634_070_58e3,
    2.051_078_377_826_071_47e3,
    1.230_339_354_797_997_25e3,
    2.153_115_354_744_038_46e-8,
];
const ERF_D: [f64; 8] = [
    1.574_492_611_070_983_47e1,
    1.176_939_508_913_124_99e2,
    5.371_811_018_620_098_58e2,
    1.621_389_574_566_690_19e3,
    3.290_799_235_733_459_63e3,
    4.362_619_090_143_247_16e3,
    3.439_367_674_143_721_64e3,
    1.230_339_354_803_749_42e3,
];
/// erfc(x) ≈ exp(-x²) / x · (1/sqrt(π) + x⁻² P(x⁻²) / Q(x⁻²)) for x > 4.
const ERF_P: [f64; 6] = [
    3.053_266_349_612_323_44e-1,
    3.603_448_999_498_044_39e-1,
    1.257_817_261_112_292_46e-1,
    1.608_378_514_874_227_66e-2,
    6.587_491_615_298_378_03e-4,
    1.631_538_713_730_209_78e-2,
];
const ERF_Q: [f64; 5] = [
    2.568_520_192_289_822_42e0,
    1.872_952_849_923_460_47e0,
    5.279_051_029_514_284_12e-1,
    6.051_834_131_244_131_91e-2,
    2.335_204_976_268_691_85e-3,
];

/// Boundary between the small-argument (erf) and tail (erfc) forms.
const ERF_SMALL: f64 = 0.468_75;

/// Cody's rational function in `z` with `p` (n + 1) and `q` (n) coefficients:
/// `(((p[n] z + p[0]) z + p[1]) z + … + p[n−1]) / (((z + q[0]) z + q[1]) z + … + q[n−1])`.
fn cody_rational(z: f64, p: &[f64], q: &[f64]) -> f64 {
    let n = q.len();
    let mut num = p[n] * z;
    let mut den = z;
    for i in 0..n - 1 {
        num = (num + p[i]) * z;
        den = (den + q[i]) * z;
    }
    (num + p[n - 1]) / (den + q[n - 1])
}

/// `erf(x) / x` for `|x| <= 0.46875`.
fn erf_small_ratio(x: f64) -> f64 {
    cody_rational(x * x, &ERF_A, &ERF_B)
}

/// The smooth factor `R(y) = exp(y²) erfc(y)` for `y > 0.46875`.
fn erfc_scaled_tail(y: f64) -> f64 {
    if y <= 4.0 {
        cody_rational(y, &ERF_C, &ERF_D)
    } else {
        let z = 1.0 / (y * y);
        let r = z * cody_rational(z, &ERF_P, &ERF_Q);
        (FRAC_1_SQRT_PI - r) / y
    }
}

/// `exp(-v² / 2)` evaluated with `v` split into a part with few significant
/// bits (whose square is exact) plus a small remainder, so that the rounding
/// error does not grow with `v²`.
fn exp_neg_half_square(v: f64) -> f64 {
    let hi = (v * 16.0).trunc() / 16.0;
    let del = (v - hi) * (v + hi);
    (-0.5 * hi * hi).exp() * (-0.5 * del).exp()
}

/// Upper tail `P(Z > |z|)` of the standard normal for `|z| / sqrt(2) > 0.46875`,
/// i.e. `erfc(|z| / sqrt 2) / 2`, with the exponential taken of `z` itself so
/// that no rounding error of `z / sqrt 2` is amplified.
fn normal_upper_tail_abs(z: f64) -> f64 {
    let v = z.abs();
    if v > 40.0 {
        return 0.0;
    }
    0.5 * exp_neg_half_square(v) * erfc_scaled_tail(v * std::f64::consts::FRAC_1_SQRT_2)
}

/// Two-sided normal p-value `P(|Z| > |z|) = erfc(|z| / sqrt 2)`.
/// `0` for infinite `z`, `NaN` for `NaN`.
pub fn normal_two_sided_p(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    let u = z.abs() * std::f64::consts::FRAC_1_SQRT_2;
    if u <= ERF_SMALL {
        return 1.0 - u * erf_small_ratio(u);
    }
    2.0 * normal_upper_tail_abs(z)
}

// ---------------------------------------------------------------------------
// Student's t
// ---------------------------------------------------------------------------

/// Degrees of freedom beyond which Student's t is replaced by the normal
/// distribution. The relative difference between the two tails is about
/// `t⁴ / (4 df)`, i.e. below 1e-14 for every tail probability that is
/// representable in `f64` (`|t| < 38.5`) at this size.
const T_DF_NORMAL: f64 = 1e20;

/// Two-sided p-value of Student's t distribution, `P(|T| > |t|)` with `df`
/// degrees of freedom (`df > 0`, not necessarily an integer).
///
/// Equals `I_{df/(df+t²)}(df/2, 1/2)`. The incomplete beta is evaluated
/// directly in the tail (continued fraction, or for `df >= 100` and
/// `t² <= df` the asymptotic expansion of DiDonato & Morris), so tiny
/// p-values keep their relative accuracy: about 1e-13 relative down to
/// ~1e-300, for any `df`.
///
/// * `t = ±inf` → `0`; `t = 0` → `1`;
/// * `t` or `df` `NaN`, or `df <= 0` → `NaN`;
/// * `df = inf` (or above 1e20) → the normal distribution's two-sided p-value.
pub fn student_t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    if t == 0.0 {
        return 1.0;
    }
    if df > T_DF_NORMAL {
        return normal_two_sided_p(t);
    }
    let a = 0.5 * df;
    let b = 0.5;
    // x = df / (df + t²) = 1 / (1 + r), y = 1 - x = r / (1 + r), r = t² / df.
    let r = (t * t) / df;
    if r == 0.0 {
        // t² is negligible next to df: the p-value is 1 to double precision.
        return 1.0;
    }
    let p = if r.is_finite() {
        let l1p = r.ln_1p();
        let (x, y) = (1.0 / (1.0 + r), r / (1.0 + r));
        ibeta_both(a, b, x, y, -l1p, r.ln() - l1p).0
    } else {
        // t² / df overflows: x = df / t² is below 1e-308; keep its logarithm
        // (the continued fraction is then exactly 1).
        let ln_r = 2.0 * t.abs().ln() - df.ln();
        ibeta_direct(a, b, (-ln_r).exp(), -ln_r, 0.0)
    };
    p.clamp(0.0, 1.0)
}

// ---------------------------------------------------------------------------
// Chi-squared
// ---------------------------------------------------------------------------

// Functions nothing in shopml calls any more, kept for the tests only: the SciPy/mpmath
// reference tables below check, through them, the routines the t and normal p-values use.

#[cfg(test)]
/// Regularized incomplete beta function
/// `I_x(a, b) = B(x; a, b) / B(a, b)` for `a, b > 0` and `0 <= x <= 1`.
///
/// Evaluated through the classical continued fraction for the incomplete
/// beta function (or, for `a >= 50`, `b <= 1`, `x >= 1/2`, an asymptotic
/// expansion in `1/a`), using the symmetry
/// `I_x(a, b) = 1 - I_{1-x}(b, a)` so that the fraction is always evaluated
/// on the side where it converges quickly and where the result is the
/// smaller of the two tails.
///
/// Returns `NaN` for `NaN` inputs, non-positive `a` or `b`, or `x` outside
/// `[0, 1]`.
fn regularized_incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if a.is_nan() || b.is_nan() || x.is_nan() || a <= 0.0 || b <= 0.0 || !(0.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    if x == 0.0 {
        return 0.0;
    }
    if x == 1.0 {
        return 1.0;
    }
    if a.is_infinite() || b.is_infinite() {
        return f64::NAN;
    }
    let y = 1.0 - x; // correctly rounded; the logs below use ln_1p for accuracy
    let (lower, _upper) = ibeta_both(a, b, x, y, x.ln(), (-x).ln_1p());
    lower
}

#[cfg(test)]
/// `exp(-v²)`, see [`exp_neg_half_square`].
fn exp_neg_square(v: f64) -> f64 {
    let hi = (v * 16.0).trunc() / 16.0;
    let del = (v - hi) * (v + hi);
    (-hi * hi).exp() * (-del).exp()
}

#[cfg(test)]
/// Complementary error function `erfc(x) = 1 - erf(x)`.
///
/// Uses W. J. Cody's rational Chebyshev approximations (relative error about
/// 1e-16 in the rational parts); `exp(-x²)` is evaluated with a split
/// argument so that large `x` keep full relative accuracy down to underflow
/// (`erfc(x) = 0` for `x > ~26.55`). `erfc(-inf) = 2`, `erfc(inf) = 0`.
fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let y = x.abs();
    if y <= ERF_SMALL {
        return 1.0 - x * erf_small_ratio(x);
    }
    // Beyond ~26.6 the result underflows; avoid 0 * inf style issues.
    let tail = if y > 27.0 {
        0.0
    } else {
        exp_neg_square(y) * erfc_scaled_tail(y)
    };
    if x > 0.0 {
        tail
    } else {
        2.0 - tail
    }
}

#[cfg(test)]
/// Standard normal cumulative distribution function `Φ(z) = P(Z <= z)`.
///
/// Computed through `erfc` (Cody's approximations) with about 1e-15 relative
/// accuracy, including the far lower tail down to underflow
/// (`Φ(-37.5) ≈ 4.6e-308`). `Φ(-inf) = 0`, `Φ(inf) = 1`, `Φ(NaN) = NaN`.
fn normal_cdf(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    let u = z * std::f64::consts::FRAC_1_SQRT_2;
    if u.abs() <= ERF_SMALL {
        return 0.5 + 0.5 * u * erf_small_ratio(u);
    }
    let tail = normal_upper_tail_abs(z);
    if z < 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

#[cfg(test)]
/// Cumulative distribution function of Student's t, `P(T <= t)`, with `df`
/// degrees of freedom (`df > 0`).
///
/// The lower tail (`t < 0`) is computed directly and keeps its relative
/// accuracy when tiny. `t = -inf` → `0`, `t = inf` → `1`; `NaN` or
/// `df <= 0` → `NaN`; `df = inf` → the normal CDF.
fn student_t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if df > T_DF_NORMAL {
        return normal_cdf(t);
    }
    let half_tail = 0.5 * student_t_two_sided_p(t, df);
    if t < 0.0 {
        half_tail
    } else {
        1.0 - half_tail
    }
}

#[cfg(test)]
// The reference tables contain values such as ln Γ(3) = ln 2 verbatim.
#[allow(clippy::approx_constant)]
mod tests {
    use super::*;

    /// A reference table (SciPy 1.17.1, cross-checked with mpmath; in `reference/`): one row
    /// per line, values separated by commas, `#` comments.
    /// The reference tables, by name.
    const REFERENCE: &[(&str, &str)] = &[
        ("erfc", include_str!("reference/erfc.csv")),
        ("inc_beta", include_str!("reference/inc_beta.csv")),
        ("ln_beta", include_str!("reference/ln_beta.csv")),
        ("ln_gamma", include_str!("reference/ln_gamma.csv")),
        ("normal_cdf", include_str!("reference/normal_cdf.csv")),
        ("t_cdf", include_str!("reference/t_cdf.csv")),
        ("t_two_sided_p", include_str!("reference/t_two_sided_p.csv")),
    ];

    /// The rows of `reference/<name>.csv` (SciPy / mpmath values: the inputs, then the
    /// expected value), `N` numbers a row.
    fn reference<const N: usize>(name: &str) -> Vec<[f64; N]> {
        let text = REFERENCE
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .unwrap_or_else(|| panic!("no reference table {name}"));
        text.lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let v: Vec<f64> = l.split(',').map(|x| x.trim().parse().unwrap()).collect();
                v.try_into().unwrap()
            })
            .collect()
    }

    /// Asserts `|got - want| <= rel * |want|` (exact equality for zero).
    #[track_caller]
    fn assert_rel(got: f64, want: f64, rel: f64) {
        if want == 0.0 {
            assert_eq!(got, 0.0, "want exactly 0, got {got:e}");
            return;
        }
        let err = ((got - want) / want).abs();
        assert!(
            err <= rel,
            "got {got:e}, want {want:e}, relative error {err:e} > {rel:e}"
        );
    }

    /// Asserts `|got - want| <= abs`.
    #[track_caller]
    fn assert_abs(got: f64, want: f64, abs: f64) {
        let err = (got - want).abs();
        assert!(
            err <= abs,
            "got {got:e}, want {want:e}, absolute error {err:e} > {abs:e}"
        );
    }

    // Reference tables generated with SciPy 1.17.1 (scipy.special.gammaln,
    // betaln, betainc, gammainc, gammaincc, erfc, ndtr; scipy.stats.t.sf / .cdf,
    // scipy.stats.chi2.sf), each value cross-checked against mpmath at 60
    // digits. Where SciPy is off by more than 1e-13 relative the mpmath value
    // is used instead; that happened for ln_gamma(0.999), ln_gamma(1.9999),
    // ln_beta(0.5, 1e6) (SciPy off by 1.5e-10), normal_cdf(-37) (1.1e-13) and
    // t = 1e160 with df = 0.3 and 1 (SciPy underflows to 0). SciPy's far
    // tails elsewhere differ from mpmath by up to ~9e-14. Two-sided t
    // p-values are 2 * t.sf(t, df); rows whose p-value is below 1e-300 were
    // left out. Generator: for each table, e.g.
    //   rows = [(t, df, 2 * scipy.stats.t.sf(t, df)) for t in T for df in DF]
    //   mpmath check: mp.betainc(df/2, 1/2, 0, df/(df+t*t), regularized=True)

    /// Relative tolerance for the reference tables. The functions are good to
    /// ~1e-13; the brief asks for 1e-10, 1e-12 leaves room for libm differences.
    const REL: f64 = 1e-12;

    #[test]
    fn ln_gamma_matches_reference() {
        for [x, want] in reference::<2>("ln_gamma") {
            let got = ln_gamma(x);
            if want == 0.0 {
                assert_abs(got, want, 1e-300);
            } else {
                assert_rel(got, want, 1e-13);
            }
        }
    }

    #[test]
    fn ln_gamma_factorials_and_poles() {
        let mut fact = 1.0_f64;
        for n in 1..=25 {
            // Γ(n) = (n-1)!
            assert_rel(ln_gamma(n as f64).exp(), fact, 1e-13);
            fact *= n as f64;
        }
        for x in [0.0, -1.0, -2.0, -50.0] {
            assert_eq!(ln_gamma(x), f64::INFINITY);
        }
        assert_eq!(ln_gamma(f64::INFINITY), f64::INFINITY);
        assert!(ln_gamma(f64::NAN).is_nan());
    }

    #[test]
    fn ln_beta_matches_reference() {
        for [a, b, want] in reference::<3>("ln_beta") {
            assert_rel(ln_beta(a, b), want, 1e-13);
            assert_rel(ln_beta(b, a), want, 1e-13);
        }
        assert!(ln_beta(0.0, 1.0).is_nan());
        assert!(ln_beta(1.0, f64::NAN).is_nan());
    }

    #[test]
    fn incomplete_beta_matches_reference() {
        for [a, b, x, want] in reference::<4>("inc_beta") {
            assert_rel(regularized_incomplete_beta(a, b, x), want, REL);
        }
    }

    #[test]
    fn incomplete_beta_identities_and_edges() {
        for x in [0.0, 1e-10, 0.25, 0.5, 0.9, 1.0] {
            assert_rel(regularized_incomplete_beta(1.0, 1.0, x), x, 1e-14);
            assert_rel(regularized_incomplete_beta(3.5, 1.0, x), x.powf(3.5), 1e-13);
            // I_x(a, b) + I_{1-x}(b, a) = 1
            let s = regularized_incomplete_beta(2.5, 7.0, x)
                + regularized_incomplete_beta(7.0, 2.5, 1.0 - x);
            assert_abs(s, 1.0, 1e-15);
        }
        assert_eq!(regularized_incomplete_beta(2.0, 3.0, 0.0), 0.0);
        assert_eq!(regularized_incomplete_beta(2.0, 3.0, 1.0), 1.0);
        assert!(regularized_incomplete_beta(0.0, 3.0, 0.5).is_nan());
        assert!(regularized_incomplete_beta(2.0, -1.0, 0.5).is_nan());
        assert!(regularized_incomplete_beta(2.0, 3.0, 1.5).is_nan());
        assert!(regularized_incomplete_beta(2.0, 3.0, -0.1).is_nan());
        assert!(regularized_incomplete_beta(f64::NAN, 3.0, 0.5).is_nan());
    }

    #[test]
    fn erfc_matches_reference() {
        for [x, want] in reference::<2>("erfc") {
            assert_rel(erfc(x), want, 1e-14);
        }
        assert_eq!(erfc(f64::INFINITY), 0.0);
        assert_eq!(erfc(f64::NEG_INFINITY), 2.0);
        assert_eq!(erfc(30.0), 0.0);
        assert!(erfc(f64::NAN).is_nan());
    }

    #[test]
    fn normal_cdf_matches_reference() {
        for [z, want] in reference::<2>("normal_cdf") {
            // SciPy's own far-tail values carry errors up to 1e-13.
            assert_rel(normal_cdf(z), want, 1e-13);
            assert_abs(normal_cdf(z) + normal_cdf(-z), 1.0, 2e-16);
        }
        assert_eq!(normal_cdf(f64::NEG_INFINITY), 0.0);
        assert_eq!(normal_cdf(f64::INFINITY), 1.0);
        assert_eq!(normal_cdf(-41.0), 0.0);
        assert!(normal_cdf(f64::NAN).is_nan());
        assert_eq!(normal_two_sided_p(f64::INFINITY), 0.0);
        assert!(normal_two_sided_p(f64::NAN).is_nan());
        assert_eq!(normal_two_sided_p(0.0), 1.0);
        for [z, want] in reference::<2>("normal_cdf") {
            if z < 0.0 {
                assert_rel(normal_two_sided_p(z), 2.0 * want, 1e-13);
                assert_rel(normal_two_sided_p(-z), 2.0 * want, 1e-13);
            }
        }
    }

    #[test]
    fn student_t_two_sided_p_matches_reference() {
        assert!(reference::<3>("t_two_sided_p").len() > 150);
        for [t, df, want] in reference::<3>("t_two_sided_p") {
            assert_rel(student_t_two_sided_p(t, df), want, REL);
            assert_rel(student_t_two_sided_p(-t, df), want, REL);
        }
    }

    #[test]
    fn student_t_cdf_matches_reference() {
        for [t, df, want] in reference::<3>("t_cdf") {
            assert_rel(student_t_cdf(t, df), want, REL);
        }
    }

    #[test]
    fn student_t_closed_forms() {
        // df = 1 (Cauchy): P(|T| > t) = (2/π) atan(1/t).
        // df = 2: P(|T| > t) = 1 - t / sqrt(2 + t²) = 2 / (s (s + t)), s = sqrt(2 + t²).
        for t in [0.01_f64, 0.3, 1.0, 2.0, 7.0, 100.0, 1e4, 1e8, 1e15, 1e100] {
            let cauchy = std::f64::consts::FRAC_2_PI * (1.0 / t).atan();
            assert_rel(student_t_two_sided_p(t, 1.0), cauchy, 1e-13);
            let s = (2.0 + t * t).sqrt();
            assert_rel(student_t_two_sided_p(t, 2.0), 2.0 / (s * (s + t)), 1e-13);
        }
    }

    #[test]
    fn student_t_edges() {
        assert_eq!(student_t_two_sided_p(f64::INFINITY, 5.0), 0.0);
        assert_eq!(student_t_two_sided_p(f64::NEG_INFINITY, 5.0), 0.0);
        assert_eq!(student_t_two_sided_p(f64::INFINITY, f64::INFINITY), 0.0);
        assert_eq!(student_t_two_sided_p(0.0, 5.0), 1.0);
        assert_eq!(student_t_two_sided_p(1e-200, 5.0), 1.0);
        assert!(student_t_two_sided_p(f64::NAN, 5.0).is_nan());
        assert!(student_t_two_sided_p(1.0, f64::NAN).is_nan());
        assert!(student_t_two_sided_p(1.0, 0.0).is_nan());
        assert!(student_t_two_sided_p(1.0, -3.0).is_nan());
        assert_eq!(student_t_cdf(f64::NEG_INFINITY, 3.0), 0.0);
        assert_eq!(student_t_cdf(f64::INFINITY, 3.0), 1.0);
        assert_eq!(student_t_cdf(0.0, 3.0), 0.5);
        assert!(student_t_cdf(f64::NAN, 3.0).is_nan());
        assert!(student_t_cdf(1.0, -1.0).is_nan());
        // Far beyond any representable tail.
        assert_eq!(student_t_two_sided_p(1e5, 1e4), 0.0);
        // Huge t with few df is still representable.
        assert!(student_t_two_sided_p(1e300, 1.0) > 0.0);
    }

    #[test]
    fn student_t_tends_to_normal() {
        for t in [0.1, 1.0, 1.96, 3.0, 8.0, 20.0, 37.0] {
            let normal = normal_two_sided_p(t);
            assert_eq!(student_t_two_sided_p(t, f64::INFINITY), normal);
            assert_eq!(student_t_two_sided_p(-t, 1e25), normal);
            // Continuous across the switch to the normal distribution at 1e20.
            assert_rel(student_t_two_sided_p(t, 1e19), normal, 1e-12);
            assert_rel(student_t_two_sided_p(t, 0.99e20), normal, 1e-12);
            assert_eq!(student_t_cdf(-t, f64::INFINITY), normal_cdf(-t));
        }
    }

    #[test]
    fn student_t_cdf_is_monotone_and_symmetric() {
        for df in [0.5, 1.0, 3.0, 29.0, 150.0, 1e5] {
            let mut prev = 0.0;
            for i in -200..=200 {
                let t = i as f64 * 0.05;
                let c = student_t_cdf(t, df);
                assert!(c >= prev, "df={df} t={t}: {c} < {prev}");
                assert_abs(c + student_t_cdf(-t, df), 1.0, 1e-15);
                prev = c;
            }
        }
    }
}
