//! Parsing and matching of placement constraints such as `node.role==manager`.
