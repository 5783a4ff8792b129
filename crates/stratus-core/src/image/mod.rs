//! Image bytes: one streaming pass through a decompressor ([`compress`])
//! into several digests at once ([`digest`]), and the disk format as
//! `qemu-img` reports it and the disks made with it ([`qemu`]), and a local
//! image checked against its metadata ([`verify`]).

pub mod compress;
pub mod digest;
pub mod qemu;
pub mod verify;
