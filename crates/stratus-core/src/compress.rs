//! Compressed images: gzip, bzip2 and xz recognised by their magic bytes.
