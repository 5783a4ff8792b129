//! The preparation kit (the repository's `kit/` directory), carried in the
//! library so that `stratus-create-image --prepare` needs no installed
//! copy: the context script, the first-boot script, their systemd units,
//! the rc.local fragment and the installer that wires them into a root
//! tree. `make install` also installs the directory as it is, for authors
//! who prepare images by hand.

use crate::error::{Error, Result};
use std::path::Path;

/// One file of the kit: its name and content, and whether it is executable.
#[derive(Debug, Clone, Copy)]
pub struct KitFile {
    /// The file name (no directory).
    pub name: &'static str,
    /// Its content.
    pub text: &'static str,
    /// Whether it is a script to run.
    pub executable: bool,
}

/// Every file of the kit. `install.sh [--rc-local] ROOT` installs the kit
/// into the tree at ROOT.
pub const FILES: [KitFile; 6] = [
    KitFile {
        name: "install.sh",
        text: include_str!("../../../../kit/install.sh"),
        executable: true,
    },
    KitFile {
        name: "stratus-context",
        text: include_str!("../../../../kit/stratus-context"),
        executable: true,
    },
    KitFile {
        name: "stratus-firstboot",
        text: include_str!("../../../../kit/stratus-firstboot"),
        executable: true,
    },
    KitFile {
        name: "rc.local.fragment",
        text: include_str!("../../../../kit/rc.local.fragment"),
        executable: false,
    },
    KitFile {
        name: "stratus-context.service",
        text: include_str!("../../../../kit/stratus-context.service"),
        executable: false,
    },
    KitFile {
        name: "stratus-firstboot.service",
        text: include_str!("../../../../kit/stratus-firstboot.service"),
        executable: false,
    },
];

/// Write the kit into the directory `dir` (created if needed).
pub fn write_to(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for file in FILES {
        let path = dir.join(file.name);
        std::fs::write(&path, file.text).map_err(|e| Error::io(&path, e))?;
        let mode = if file.executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}
