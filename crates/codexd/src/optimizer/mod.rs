//! The optimizer: personal models fitted to the user's own data ([`train`]).

pub mod train;
