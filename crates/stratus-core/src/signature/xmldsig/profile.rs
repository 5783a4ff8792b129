//! The algorithm identifiers of the signature profile.

/// XML-DSig namespace.
pub const DSIG_NS: &str = crate::document::xml::XMLDSIG_NS;
/// The enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// The InclusiveNamespaces element of exclusive C14N.
pub const EXC_C14N_NS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// A signature method: RSA PKCS#1 v1.5 with a hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    /// `rsa-sha1`: the legacy profile.
    RsaSha1,
    /// `rsa-sha256`: the default.
    RsaSha256,
    /// `rsa-sha512`.
    RsaSha512,
}

impl SignatureMethod {
    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            SignatureMethod::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            SignatureMethod::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            SignatureMethod::RsaSha512 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        }
    }

    /// The method named by `uri` (compared case-insensitively, as the legacy
    /// key selector did).
    pub fn from_uri(uri: &str) -> Option<Self> {
        [Self::RsaSha1, Self::RsaSha256, Self::RsaSha512]
            .into_iter()
            .find(|m| m.uri().eq_ignore_ascii_case(uri))
    }

    /// Sign `message` with `key` by this method.
    pub fn sign_with(
        self,
        key: &crate::signature::credentials::SigningKey,
        message: &[u8],
    ) -> Result<Vec<u8>, crate::signature::credentials::CredentialError> {
        match self {
            SignatureMethod::RsaSha1 => key.sign_rsa_sha1(message),
            SignatureMethod::RsaSha256 => key.sign_rsa_sha256(message),
            SignatureMethod::RsaSha512 => key.sign_rsa_sha512(message),
        }
    }

    /// ring's verification algorithm (keys from 1024 bits: legacy grid keys).
    pub fn verifier(self) -> &'static dyn ring::signature::VerificationAlgorithm {
        match self {
            SignatureMethod::RsaSha1 => {
                &ring::signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
            }
            SignatureMethod::RsaSha256 => {
                &ring::signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
            }
            SignatureMethod::RsaSha512 => {
                &ring::signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY
            }
        }
    }
}

/// A digest method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestMethod {
    /// `sha1`: the legacy profile.
    Sha1,
    /// `sha256`: the default.
    Sha256,
    /// `sha512`.
    Sha512,
}

impl DigestMethod {
    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            DigestMethod::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
            DigestMethod::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            DigestMethod::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
        }
    }

    /// The method named by `uri`.
    pub fn from_uri(uri: &str) -> Option<Self> {
        [Self::Sha1, Self::Sha256, Self::Sha512]
            .into_iter()
            .find(|m| m.uri() == uri)
    }

    /// The digest of `bytes`.
    pub fn digest(self, bytes: &[u8]) -> Vec<u8> {
        let algorithm = match self {
            DigestMethod::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            DigestMethod::Sha256 => &ring::digest::SHA256,
            DigestMethod::Sha512 => &ring::digest::SHA512,
        };
        ring::digest::digest(algorithm, bytes).as_ref().to_vec()
    }
}
