//! The fuzz targets' checks over the committed corpus of inputs that once
//! failed them (`fuzz/regressions/<target>/`) and over the generated
//! shapes, so that `make test` catches a regression without a fuzzer.

#[path = "../../../fuzz/common/checks.rs"]
mod checks;
#[path = "../../../fuzz/common/shapes.rs"]
mod shapes;

use std::path::PathBuf;

/// Samples larger than this (bytes) are only validated.
const LARGE: usize = 4 * 1024 * 1024;

fn regressions() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions")
}

#[test]
fn every_committed_input_passes_its_target() {
    for (target, check) in checks::TARGETS {
        let dir = regressions().join(target);
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(
                outcome.is_ok(),
                "{target}: {} fails its check",
                path.display()
            );
            count += 1;
        }
        assert!(
            count > 0,
            "{target}: no committed input in {}",
            dir.display()
        );
    }
}

#[test]
fn generated_shapes_pass_the_document_targets() {
    let small = shapes::shapes().into_iter().map(|shape| shapes::Sample {
        name: shape.name.to_string(),
        text: (shape.build)(shape.max_units.min(200)),
        expect: shapes::Expect::Valid,
    });
    for sample in shapes::near_limits().into_iter().chain(small) {
        for (target, check) in checks::TARGETS {
            // The shapes are documents: the other targets read other files.
            // The 16 MiB samples go through validation only: the other
            // document targets' properties do not depend on size, and
            // canonicalizing them twice more would slow every test run.
            let document_target = ["validate", "manifest_roundtrip", "c14n"].contains(&target);
            if !document_target || (target != "validate" && sample.text.len() > LARGE) {
                continue;
            }
            let outcome = std::panic::catch_unwind(|| check(sample.text.as_bytes()));
            assert!(outcome.is_ok(), "{target}: {} fails its check", sample.name);
        }
    }
}

#[path = "../../../fuzz/common/hostile.rs"]
mod hostile;

/// The generated hostile credential files pass the credential check, each
/// refused from its parameters (the check would otherwise run for hours).
#[test]
fn generated_hostile_credentials_pass_their_target() {
    for (name, data) in hostile::samples() {
        let outcome = std::panic::catch_unwind(|| checks::credentials(&data));
        assert!(outcome.is_ok(), "credentials: {name} fails its check");
    }
}
