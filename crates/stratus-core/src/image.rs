//! Disk images through `qemu-img`.
