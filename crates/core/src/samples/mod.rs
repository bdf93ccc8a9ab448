//! Generators of data with known answers: the sample shop (orders, products, customers, ads,
//! search sessions)
//! and weekly sales from known elasticities. Apart from the ML: nothing here is used to train.

pub mod ads;
pub mod demand;
pub mod search;
pub mod shop;
