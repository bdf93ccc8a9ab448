//! Linear models: least squares (OLS and ridge, from mergeable sufficient statistics) and
//! logistic regression (dense Newton, or OWL-QN on sparse hashed designs and for L1), and
//! multinomial (softmax) logistic regression for more than two classes.

pub mod logistic;
pub mod multinomial;
pub mod owlqn;
pub mod regression;
pub mod sharded;
