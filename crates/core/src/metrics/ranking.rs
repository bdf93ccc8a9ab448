//! Quality of recommendations: precision, recall, ndcg and MAP at k, and catalogue coverage.

use rayon::prelude::*;
use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

/// Averages of ranking metrics at k over the users with held-out items.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RankingMetrics {
    pub k: usize,
    pub users: usize,
    pub precision: f64,
    pub recall: f64,
    pub ndcg: f64,
    pub map: f64,
    /// Distinct items recommended to the evaluated users / items in the catalogue.
    pub coverage: f64,
}

impl RankingMetrics {
    /// As `train_recommender` reports them: `precision@k`, `recall@k`, `ndcg@k`, `map@k` and
    /// `coverage`.
    pub fn at_k(&self) -> serde_json::Map<String, serde_json::Value> {
        let k = self.k;
        let named = [
            (format!("precision@{k}"), self.precision),
            (format!("recall@{k}"), self.recall),
            (format!("ndcg@{k}"), self.ndcg),
            (format!("map@{k}"), self.map),
            ("coverage".to_string(), self.coverage),
        ];
        named
            .into_iter()
            .map(|(n, v)| (n, serde_json::json!(v)))
            .collect()
    }
}

/// Metrics of one list: (precision, recall, ndcg, average precision).
pub type ListScores = (f64, f64, f64, f64);

/// Metrics of one user's list.
pub fn score_list(recs: &[u32], relevant: &[u32], k: usize) -> ListScores {
    if relevant.is_empty() || k == 0 {
        return (0.0, 0.0, 0.0, 0.0);
    }
    let mut hits = 0usize;
    let mut dcg = 0.0;
    let mut ap = 0.0;
    for (pos, item) in recs.iter().take(k).enumerate() {
        if relevant.binary_search(item).is_ok() {
            hits += 1;
            dcg += 1.0 / ((pos + 2) as f64).log2();
            ap += hits as f64 / (pos + 1) as f64;
        }
    }
    let ideal = relevant.len().min(k);
    let idcg: f64 = (0..ideal).map(|p| 1.0 / ((p + 2) as f64).log2()).sum();
    (
        hits as f64 / k as f64,
        hits as f64 / relevant.len() as f64,
        dcg / idcg,
        ap / ideal as f64,
    )
}

/// Evaluates `recs(user)` (already excluding the user's training items) against held-out items.
pub fn evaluate<F>(
    test: &[(u32, Vec<u32>)],
    k: usize,
    n_items: usize,
    pool: &ThreadPool,
    recs: F,
) -> RankingMetrics
where
    F: Fn(u32) -> Vec<u32> + Sync,
{
    let lists: Vec<(Vec<u32>, ListScores)> = pool.install(|| {
        test.par_iter()
            .map(|(u, relevant)| {
                let r = recs(*u);
                let s = score_list(&r, relevant, k);
                (r, s)
            })
            .collect()
    });
    let mut m = RankingMetrics {
        k,
        users: lists.len(),
        ..RankingMetrics::default()
    };
    let mut shown = vec![false; n_items];
    for (r, (p, rc, nd, ap)) in &lists {
        m.precision += p;
        m.recall += rc;
        m.ndcg += nd;
        m.map += ap;
        for &i in r {
            shown[i as usize] = true;
        }
    }
    let n = lists.len().max(1) as f64;
    m.precision /= n;
    m.recall /= n;
    m.ndcg /= n;
    m.map /= n;
    m.coverage = shown.iter().filter(|&&s| s).count() as f64 / n_items.max(1) as f64;
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_metrics_by_hand() {
        // Relevant {2, 5}; list [5, 1, 2]: hits at ranks 1 and 3.
        let (p, r, n, ap) = score_list(&[5, 1, 2], &[2, 5], 3);
        assert!((p - 2.0 / 3.0).abs() < 1e-12);
        assert!((r - 1.0).abs() < 1e-12);
        let dcg = 1.0 + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2();
        assert!((n - dcg / idcg).abs() < 1e-12);
        assert!((ap - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(score_list(&[1, 3], &[2], 2), (0.0, 0.0, 0.0, 0.0));
    }
}
