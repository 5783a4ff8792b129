//! Canonical XML 1.0 (inclusive, with and without comments) and exclusive canonical XML 1.0, over roxmltree.
