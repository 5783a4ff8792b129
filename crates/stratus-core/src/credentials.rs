//! Signing credentials: PKCS#12 stores and PEM files to (certificate chain, private key).
