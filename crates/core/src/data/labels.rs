//! Class labels of a classifier's target: numbers (integers, booleans) or text, numbered in
//! sorted order (numbers ascending with false before true, text in byte order).

use std::collections::HashMap;

use crate::data::cell::Cell;
use crate::error::{Error, Result};

/// Gives each distinct target value a provisional code in order of appearance; [`finish`]
/// sorts them. Numbers are looked up by value and text by reference, so a row allocates
/// nothing once its label has been seen.
///
/// [`finish`]: LabelEncoder::finish
pub struct LabelEncoder {
    boolean: bool,
    max_classes: usize,
    by_number: HashMap<u64, u32>,
    by_text: HashMap<String, u32>,
    values: Vec<String>,
}

/// A number as a class label: integers without a decimal point.
pub fn number_label(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

impl LabelEncoder {
    /// `boolean`: the target is a boolean (labels "false"/"true").
    pub fn new(boolean: bool, max_classes: usize) -> LabelEncoder {
        LabelEncoder {
            boolean,
            max_classes,
            by_number: HashMap::new(),
            by_text: HashMap::new(),
            values: Vec::new(),
        }
    }

    /// The provisional code of a target cell (None: NULL or not a finite number); an error
    /// when it would be one class more than allowed.
    pub fn code(&mut self, cell: &Cell) -> Result<Option<u32>> {
        let known = match cell {
            Cell::Text(t) => self.by_text.get(*t).copied(),
            c => match c.number() {
                Some(v) => self.by_number.get(&(v + 0.0).to_bits()).copied(),
                None => return Ok(None),
            },
        };
        if let Some(c) = known {
            return Ok(Some(c));
        }
        if self.values.len() >= self.max_classes {
            return Err(Error::invalid(format!(
                "more than {} distinct values",
                self.max_classes
            )));
        }
        let id = self.values.len() as u32;
        match cell {
            Cell::Text(t) => {
                self.by_text.insert(t.to_string(), id);
                self.values.push(t.to_string());
            }
            c => {
                let v = c.number().unwrap_or_default();
                self.by_number.insert((v + 0.0).to_bits(), id);
                self.values.push(match (self.boolean, v != 0.0) {
                    (true, true) => "true".into(),
                    (true, false) => "false".into(),
                    (false, _) => number_label(v),
                });
            }
        }
        Ok(Some(id))
    }

    /// The labels in sorted order, and for each provisional code its final class.
    pub fn finish(self) -> (Vec<String>, Vec<u32>) {
        let numeric = !self.by_number.is_empty() && !self.boolean;
        let v = &self.values;
        let mut order: Vec<u32> = (0..v.len() as u32).collect();
        if numeric {
            let num = |i: u32| v[i as usize].parse::<f64>().unwrap_or(f64::NAN);
            order.sort_by(|&a, &b| num(a).total_cmp(&num(b)));
        } else {
            order.sort_by(|&a, &b| v[a as usize].cmp(&v[b as usize]));
        }
        let mut remap = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            remap[old as usize] = new as u32;
        }
        let labels = order.iter().map(|&o| v[o as usize].clone()).collect();
        (labels, remap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_labels() {
        let mut e = LabelEncoder::new(false, 10);
        let codes: Vec<u32> = [
            Cell::Int(10),
            Cell::Num(2.0),
            Cell::Int(10),
            Cell::Num(-1.0),
        ]
        .iter()
        .map(|c| e.code(c).unwrap().unwrap())
        .collect();
        assert_eq!(e.code(&Cell::Null).unwrap(), None);
        let (labels, remap) = e.finish();
        assert_eq!(labels, vec!["-1", "2", "10"]);
        let classes: Vec<u32> = codes.iter().map(|&c| remap[c as usize]).collect();
        assert_eq!(classes, vec![2, 1, 2, 0]);
        let mut b = LabelEncoder::new(true, 10);
        b.code(&Cell::Num(1.0)).unwrap();
        b.code(&Cell::Num(0.0)).unwrap();
        assert_eq!(b.finish().0, vec!["false", "true"]);
        let mut t = LabelEncoder::new(false, 2);
        t.code(&Cell::Text("b")).unwrap();
        t.code(&Cell::Text("a")).unwrap();
        assert!(t.code(&Cell::Text("c")).is_err());
        assert_eq!(t.finish().0, vec!["a", "b"]);
    }
}
