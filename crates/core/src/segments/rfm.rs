//! RFM (recency, frequency, monetary) scores and segments.
//!
//! Each measure becomes a score from 1 to 5 (5 best) by its rank among customers:
//! `score = 1 + floor(5 · (r − 1) / n)` with r the 1-based rank of the value from worst to best,
//! where tied customers all take the lowest rank of their tie, so one value never straddles two
//! scores. The segment comes from the recency score and the mean of the frequency and monetary
//! scores (rounded half up), through the usual map (see [`segment`]).

use crate::error::Result;

/// Scores 1–5 for `values` (any order), best = highest unless `lower_is_better`.
pub fn quintile_scores(values: &[f64], lower_is_better: bool) -> Vec<u8> {
    let n = values.len();
    let key = |v: f64| if lower_is_better { -v } else { v };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| key(values[a]).total_cmp(&key(values[b])));
    let mut scores = vec![0u8; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j < n && key(values[order[j]]) == key(values[order[i]]) {
            j += 1;
        }
        // Ranks i+1..=j are tied: all take rank i+1.
        let score = 1 + (5 * i / n) as u8;
        for &k in &order[i..j] {
            scores[k] = score;
        }
        i = j;
    }
    scores
}

/// The RFM segment of a customer with recency score `r` and frequency/monetary scores `f`, `m`.
///
/// ```text
///            FM = 1           2                  3                  4                 5
/// R = 5      New            Potential Loyalist Potential Loyalist Champions         Champions
/// R = 4      Promising      Potential Loyalist Potential Loyalist Loyal             Champions
/// R = 3      About to Sleep About to Sleep     Need Attention     Loyal             Loyal
/// R = 2      Hibernating    Hibernating        At Risk            At Risk           Cannot Lose Them
/// R = 1      Lost           Lost               At Risk            Cannot Lose Them  Cannot Lose Them
/// ```
pub fn segment(r: u8, f: u8, m: u8) -> &'static str {
    let fm = (f + m).div_ceil(2);
    match (r, fm) {
        (5, 1) => "New",
        (5 | 4, 2 | 3) => "Potential Loyalist",
        (5, _) | (4, 5) => "Champions",
        (4, 1) => "Promising",
        (4, 4) | (3, 4 | 5) => "Loyal",
        (3, 3) => "Need Attention",
        (3, _) => "About to Sleep",
        (2, 1 | 2) => "Hibernating",
        (2, 5) | (1, 4 | 5) => "Cannot Lose Them",
        (2, _) | (1, 3) => "At Risk",
        _ => "Lost",
    }
}

/// Every segment name, in the order of the map from best to worst.
pub const SEGMENTS: [&str; 11] = [
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Cannot Lose Them",
    "Hibernating",
    "Lost",
];

/// Options of `rfm`.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmOptions {
    /// Count distinct values of this column (orders) instead of rows.
    pub order_column: Option<String>,
    /// Monetary value as the average amount instead of the total.
    pub average: bool,
}

impl RfmOptions {
    pub fn parse(value: Option<&serde_json::Value>) -> Result<Self> {
        crate::options::parse("rfm", value, |o| {
            Ok(RfmOptions {
                order_column: o.string("order_column")?,
                average: o.choice("monetary", "total", &["total", "average"])? == "average",
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quintiles_by_rank_without_splitting_ties() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(
            quintile_scores(&v, false),
            vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        );
        assert_eq!(
            quintile_scores(&v, true),
            vec![5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
        );
        // Seven equal values: all take the score of the lowest rank among them.
        let t = [1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 9.0, 10.0];
        assert_eq!(
            quintile_scores(&t, false),
            vec![1, 1, 1, 1, 1, 1, 1, 1, 5, 5]
        );
        assert_eq!(quintile_scores(&[], false), Vec::<u8>::new());
        assert_eq!(quintile_scores(&[3.0], false), vec![1]);
    }

    #[test]
    fn the_map_covers_every_cell_with_all_eleven_segments() {
        let mut seen = std::collections::BTreeSet::new();
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    seen.insert(segment(r, f, m));
                }
            }
        }
        let all: std::collections::BTreeSet<&str> = SEGMENTS.into_iter().collect();
        assert_eq!(seen, all);
        assert_eq!(segment(5, 5, 5), "Champions");
        assert_eq!(segment(1, 1, 1), "Lost");
        assert_eq!(segment(1, 5, 4), "Cannot Lose Them");
        assert_eq!(segment(5, 1, 1), "New");
        assert_eq!(segment(3, 3, 2), "Need Attention"); // FM = ceil(2.5) = 3
    }
}
