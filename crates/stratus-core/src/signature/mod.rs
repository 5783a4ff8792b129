//! Signatures and trust: the enveloped XML signature ([`xmldsig`]), the
//! credentials that sign ([`credentials`], with the key derivations of
//! [`pbe`]), the signer's names and e-mails ([`dn`], [`email`]), key
//! strength ([`keys`]), and the site's anchors, CRLs and namespace
//! policies that make a signer trusted ([`trust`], [`namespaces`]).

pub mod credentials;
pub mod dn;
pub mod email;
pub mod keys;
pub mod namespaces;
pub mod pbe;
pub mod trust;
pub mod xmldsig;
