//! Validation of service specs before anything is stored.
