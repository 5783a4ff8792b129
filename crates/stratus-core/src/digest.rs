//! One streaming pass over an image computing several digests at once.
