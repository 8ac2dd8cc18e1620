//! Black-box tests of the contract, against the real app on port 0.

mod helpers;
mod sharing;
