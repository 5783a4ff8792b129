//! Build-time tasks that need the commands' clap definitions:
//!
//! - `xtask man DIR`: one man page per command (section 1), and one per
//!   subcommand of `stratus-marketplace` (`stratus-marketplace-serve.1`);
//! - `xtask completions DIR`: bash, zsh and fish completions per command;
//! - `xtask shapes DIR [MAX_BYTES]`: the generated documents of hostile
//!   shapes (`fuzz/common/shapes.rs`), at and over each parsing limit and
//!   in doubling sizes, no larger than MAX_BYTES each: benchmark inputs
//!   and fuzzing seeds.
//!
//! Generating from the same definitions as `--help` keeps the two in step.

#![forbid(unsafe_code)]

use clap_complete::Shell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [task, dir] if task == "man" => write_man_pages(Path::new(dir)),
        [task, dir] if task == "completions" => write_completions(Path::new(dir)),
        [task, dir] if task == "shapes" => write_shapes(Path::new(dir), usize::MAX),
        [task, dir, max] if task == "shapes" => match max.parse() {
            Ok(max) => write_shapes(Path::new(dir), max),
            Err(_) => {
                eprintln!("xtask shapes: MAX_BYTES must be a number of bytes, not '{max}'");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!(
                "usage: xtask man DIR | xtask completions DIR | xtask shapes DIR [MAX_BYTES]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}

#[path = "../../fuzz/common/shapes.rs"]
mod shapes;

/// Write every generated document no larger than `max_bytes`: the samples
/// at and over the limits as `NAME.xml`, and each scaling shape at 1/8,
/// 1/4, 1/2 and all of its largest size as `SHAPE-1.xml` to `SHAPE-8.xml`.
fn write_shapes(dir: &Path, max_bytes: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let write = |name: &str, text: &str| {
        if text.len() > max_bytes {
            return Ok(());
        }
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        println!("{}", path.display());
        Ok::<(), std::io::Error>(())
    };
    for sample in shapes::near_limits() {
        write(&sample.name, &sample.text)?;
    }
    for shape in shapes::shapes() {
        for eighths in [1, 2, 4, 8] {
            let text = (shape.build)(shape.max_units * eighths / 8);
            write(&format!("{}-{eighths}.xml", shape.name), &text)?;
        }
    }
    Ok(())
}

/// Every command's clap definition: the tools, then the server.
fn commands() -> Vec<clap::Command> {
    use clap::CommandFactory;
    let mut all = stratus_cli::commands::all();
    all.push(stratus_marketplace::cli::Cli::command());
    all
}

fn write_man_pages(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for command in commands() {
        let name = command.get_name().to_string();
        let command = command.version(env!("CARGO_PKG_VERSION"));
        write_man_page(dir, &name, command.clone())?;
        // A command with subcommands gets a page for each, as git does.
        for sub in command.get_subcommands() {
            // clap takes a 'static name without its `string` feature; this
            // short-lived tool can leak the few it makes.
            let full: &'static str =
                Box::leak(format!("{name}-{}", sub.get_name()).into_boxed_str());
            let sub = sub.clone().name(full).version(env!("CARGO_PKG_VERSION"));
            write_man_page(dir, full, sub)?;
        }
    }
    Ok(())
}

fn write_man_page(dir: &Path, name: &str, command: clap::Command) -> std::io::Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .manual("stratus manual")
        .source(format!("stratus {}", env!("CARGO_PKG_VERSION")))
        .render(&mut page)?;
    let path: PathBuf = dir.join(format!("{name}.1"));
    std::fs::write(&path, page)?;
    println!("{}", path.display());
    Ok(())
}

fn write_completions(dir: &Path) -> std::io::Result<()> {
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let shell_dir = dir.join(shell.to_string());
        std::fs::create_dir_all(&shell_dir)?;
        for mut command in commands() {
            let name = command.get_name().to_string();
            let path = clap_complete::generate_to(shell, &mut command, &name, &shell_dir)?;
            println!("{}", path.display());
        }
    }
    Ok(())
}
