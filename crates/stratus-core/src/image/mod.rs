//! Image bytes: one streaming pass through a decompressor ([`compress`])
//! into several digests at once ([`digest`]), and the disk format as
//! `qemu-img` reports it ([`qemu`]).

pub mod compress;
pub mod digest;
pub mod qemu;
