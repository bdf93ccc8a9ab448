//! The one sparse-matrix type: compressed sparse rows (interaction matrices, item-kNN
//! neighbour lists, the hashed design of sparse logistic regression).

use serde::{Deserialize, Serialize};

/// Compressed sparse rows: row r holds `indices[indptr[r]..indptr[r+1]]` with their values.
/// Matrices built by [`Csr::from_sorted`] and [`Csr::transpose`] keep each row's indices sorted
/// (interaction matrices, neighbour lists); rows added by [`Csr::push_row`] keep the order given
/// (the sparse logistic design, where a repeated index adds up). The number of columns is the
/// user's to know.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Csr {
    pub indptr: Vec<u64>,
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl Csr {
    /// An empty matrix to add rows to.
    pub fn new() -> Csr {
        Csr {
            indptr: vec![0],
            indices: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Appends a row of (column, value) entries.
    pub fn push_row(&mut self, entries: &[(u32, f32)]) {
        if self.indptr.is_empty() {
            self.indptr.push(0);
        }
        for &(j, v) in entries {
            self.indices.push(j);
            self.values.push(v);
        }
        self.indptr.push(self.indices.len() as u64);
    }

    /// Checks a decoded matrix: `n_rows` rows, offsets ascending to the number of entries,
    /// every column index below `n_cols`.
    pub fn is_valid(&self, n_rows: usize, n_cols: usize) -> bool {
        self.indptr.len() == n_rows + 1
            && self.indptr[0] == 0
            && self.indptr.windows(2).all(|w| w[0] <= w[1])
            && self.indptr[n_rows] == self.indices.len() as u64
            && self.values.len() == self.indices.len()
            && self.indices.iter().all(|&j| (j as usize) < n_cols)
    }

    pub fn n_rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    #[inline]
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[r] as usize, self.indptr[r + 1] as usize);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// Builds from (row, col, value) triples already sorted by (row, col) without duplicates.
    pub fn from_sorted(n_rows: usize, triples: impl Iterator<Item = (u32, u32, f32)>) -> Csr {
        let mut indptr = vec![0u64; n_rows + 1];
        let mut indices = Vec::new();
        let mut values = Vec::new();
        for (r, c, v) in triples {
            indptr[r as usize + 1] += 1;
            indices.push(c);
            values.push(v);
        }
        for r in 0..n_rows {
            indptr[r + 1] += indptr[r];
        }
        Csr {
            indptr,
            indices,
            values,
        }
    }

    /// The transpose, with `n_cols` rows.
    pub fn transpose(&self, n_cols: usize) -> Csr {
        let mut indptr = vec![0u64; n_cols + 1];
        for &c in &self.indices {
            indptr[c as usize + 1] += 1;
        }
        for c in 0..n_cols {
            indptr[c + 1] += indptr[c];
        }
        let mut next: Vec<u64> = indptr[..n_cols].to_vec();
        let mut indices = vec![0u32; self.nnz()];
        let mut values = vec![0f32; self.nnz()];
        for r in 0..self.n_rows() {
            let (cols, vals) = self.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                let at = next[c as usize] as usize;
                indices[at] = r as u32;
                values[at] = v;
                next[c as usize] += 1;
            }
        }
        Csr {
            indptr,
            indices,
            values,
        }
    }
}
