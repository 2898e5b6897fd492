//! The Docker executor against a real engine: a private dockerd started by the harness (root;
//! under `CI=true` a failure to start it fails the tests instead of skipping them).
//!
//! One test binary, so that the tests running at the same time share one engine; each test
//! uses its own node ID, which is also what keeps their containers apart. Tests that stop or
//! place their engine start one of their own.

mod adoption;
mod images;
mod lifecycle;
mod observe;
mod recovery;
mod support;
