//! Distinguished names as RFC 2253 strings, exactly as the legacy (Java) tools printed them, and the e-mail of a certificate.
