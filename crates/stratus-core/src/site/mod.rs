//! The site side of the flow: what a site does with a published image.
//!
//! - [`obtain`]: the base image of an instance or a new image, from a local
//!   file or a metadata document, verified before anything uses it;
//! - [`context`]: the OpenNebula-style context CD a guest reads at boot;
//! - [`instance`]: local QEMU instances: overlay, command line, state
//!   directory, and the descriptions for libvirt and OpenNebula;
//! - [`kit`]: the preparation kit installed into images.

pub mod context;
pub mod instance;
pub mod kit;
pub mod obtain;
