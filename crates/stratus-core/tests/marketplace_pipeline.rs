//! The legacy Marketplace upload pipeline ([`Rules::Marketplace`]): the
//! same signature, constraint and RDF/XML stages as the commands, without
//! the schema stage (marketplace.md §3.2).

mod support;

use stratus_core::clock;
use stratus_core::document::validate::{check_document_with, Rules, SignaturePolicy};
use stratus_core::signature::trust::{Policy, TrustStore};
use stratus_core::{Error, Stage};

fn check(name: &str, rules: Rules) -> Result<(), Stage> {
    let bytes = std::fs::read(support::fixtures().join(name)).expect("the fixture is readable");
    let now = clock::parse_utc("2015-01-01T00:00:00Z").unwrap();
    match check_document_with(
        &bytes,
        name,
        SignaturePolicy::Required,
        rules,
        &TrustStore::default(),
        Policy::default(),
        now,
    ) {
        Ok(_) => Ok(()),
        Err(Error::Invalid { reason, .. }) => Err(reason.stage),
        Err(other) => panic!("{name}: {other}"),
    }
}

#[test]
fn the_schema_stage_is_skipped_only_for_the_marketplace() {
    // dcterms:alternative before slreq:bytes: refused by the schema, which
    // the legacy server never ran.
    let name = "server/valid-alternative.xml";
    assert_eq!(check(name, Rules::Full), Err(Stage::Schema));
    assert_eq!(check(name, Rules::Marketplace), Ok(()));
}

#[test]
fn the_other_stages_still_run() {
    assert_eq!(
        check("server/valid.xml", Rules::Marketplace),
        Err(Stage::Unsigned)
    );
    assert_eq!(
        check("server/valid-indate-signature.xml", Rules::Marketplace),
        Ok(())
    );
    assert_eq!(
        check("valid-full-signature.xml", Rules::Marketplace),
        Ok(())
    );
}
