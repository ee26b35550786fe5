//! The README's two commands, so that they work on a fresh machine:
//!
//! - `cargo xtask test [ARGS]` runs `cargo test --workspace [ARGS]`;
//! - `cargo xtask demo [ARGS]` runs `cargo run -p dyad -- demo [ARGS]`;
//! - `cargo xtask clippy` runs clippy as CI does (it builds the same build scripts);
//! - `cargo xtask link-bench lan|wan [ARGS]` runs the networks bench over a loopback shaped to
//!   the paper's LAN or WAN bandwidth ([`link_bench`]);
//! - `cargo xtask fuzz TARGET [ARGS]` runs a libFuzzer target for long ([`fuzz`]);
//! - `cargo xtask image` builds `dyad` and the container image `dyad:latest` ([`image`]).
//!
//! Each first make sure the build can run. RocksDB's Rust bindings are generated at build
//! time by bindgen, which loads libclang; a machine with Rust, gcc and Python but no clang
//! lacks it. Then this installs the `libclang` wheel from PyPI (a self-contained libclang.so)
//! into a virtual environment under the user's cache, points bindgen at it (`LIBCLANG_PATH`),
//! and gives it gcc's built-in headers (`stdbool.h`, `stddef.h`: the wheel has no clang
//! resource directory). No root, no system package, and nothing when libclang is present.

mod fuzz;
mod image;
mod link_bench;
mod one_build;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The wheel's version: its libclang.so is what bindgen loads.
const LIBCLANG_WHEEL: &str = "libclang==18.1.1";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    if task.as_deref() == Some("image") {
        return build_image(&rest);
    }
    if let Some(task @ ("link-bench" | "fuzz")) = task.as_deref() {
        let mut cargo = cargo_command();
        if let Err(e) = provide_libclang(&mut cargo) {
            eprintln!("xtask: {e}");
            return ExitCode::FAILURE;
        }
        return match task {
            "fuzz" => fuzz::run(&rest, cargo),
            _ => link_bench::run(&rest, cargo),
        };
    }
    let cargo_args: Vec<String> = match task.as_deref() {
        Some("test") => ["test", "--workspace"].map(String::from).into(),
        Some("demo") => ["run", "-p", "dyad", "--", "demo"].map(String::from).into(),
        Some("clippy") => [
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]
        .map(String::from)
        .into(),
        _ => {
            eprintln!("usage: cargo xtask test [ARGS]   (cargo test --workspace)");
            eprintln!("       cargo xtask demo [ARGS]   (cargo run -p dyad -- demo)");
            eprintln!("       cargo xtask clippy        (clippy as CI runs it)");
            eprintln!(
                "       cargo xtask link-bench lan|wan [ARGS]   (the networks bench on a shaped link)"
            );
            eprintln!(
                "       cargo xtask fuzz TARGET|list [ARGS]   (a libFuzzer target, for long)"
            );
            eprintln!("       cargo xtask image             (the container image dyad:latest)");
            return ExitCode::from(2);
        }
    };
    let mut cargo = cargo_command();
    cargo.args(cargo_args).args(rest);
    if let Err(e) = provide_libclang(&mut cargo) {
        eprintln!("xtask: {e}");
        return ExitCode::FAILURE;
    }
    exit_code(&mut cargo)
}

/// `cargo xtask image`: builds `dyad` in the default profile (the one the tests and the demo
/// use, so CI builds it once), then the image `dyad:<version>` and `dyad:latest` from it.
fn build_image(rest: &[String]) -> ExitCode {
    if !rest.is_empty() {
        eprintln!("usage: cargo xtask image   (takes no arguments)");
        return ExitCode::from(2);
    }
    let mut cargo = cargo_command();
    cargo.args(["build", "-p", "dyad"]);
    if let Err(e) = provide_libclang(&mut cargo) {
        eprintln!("xtask: {e}");
        return ExitCode::FAILURE;
    }
    let built = exit_code(&mut cargo);
    if built != ExitCode::SUCCESS {
        return built;
    }
    match image_of_build() {
        Ok(image) => {
            println!(
                "built {} ({:.1} MB)",
                image.tags.join(" and "),
                image.size as f64 / 1e6
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The image of the `dyad` binary just built. This xtask runs from the same target directory
/// and profile (`cargo run` built it there), so the binary lies beside its own executable.
fn image_of_build() -> Result<image::Image, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find this xtask: {e}"))?;
    let target = me.parent().ok_or("this xtask has no directory")?;
    let binary = target.join("dyad");
    let out = Command::new(&binary)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    // `dyad 0.1.0`
    let version = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .map(str::to_owned)
        .ok_or_else(|| format!("{} --version printed no version", binary.display()))?;
    let tags = [format!("dyad:{version}"), "dyad:latest".to_owned()];
    image::build(&binary, &tags, &target.join("image")).map_err(|e| e.to_string())
}

/// Runs `command` and passes its exit status on.
fn exit_code(command: &mut Command) -> ExitCode {
    match command.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(1, 255) as u8),
        Err(e) => {
            eprintln!("xtask: cannot run {command:?}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The cargo that runs this xtask.
fn cargo_command() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Sets `cargo`'s environment so that bindgen finds a libclang.
fn provide_libclang(cargo: &mut Command) -> Result<(), String> {
    if std::env::var_os("LIBCLANG_PATH").is_some() || system_libclang() {
        return Ok(());
    }
    let dir = wheel_libclang()?;
    cargo.env("LIBCLANG_PATH", &dir);
    if std::env::var_os("BINDGEN_EXTRA_CLANG_ARGS").is_none() {
        cargo.env("BINDGEN_EXTRA_CLANG_ARGS", format!("-I{}", gcc_headers()?));
    }
    Ok(())
}

/// Whether the dynamic loader or the usual LLVM directories know a libclang.
fn system_libclang() -> bool {
    let known = Command::new("ldconfig").arg("-p").output().is_ok_and(|o| {
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .any(is_libclang)
    });
    known
        || ["/usr/lib", "/usr/lib64", "/usr/local/lib"]
            .iter()
            .flat_map(|root| std::fs::read_dir(root).into_iter().flatten().flatten())
            .filter(|e| e.file_name().to_string_lossy().starts_with("llvm"))
            .any(|e| has_libclang(&e.path().join("lib")))
}

fn has_libclang(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let name = e.file_name();
            is_libclang(&name.to_string_lossy())
        })
}

/// Whether a file name is one bindgen loads: `libclang.so`, `libclang.so.18`,
/// `libclang-18.so(.1)`; not `libclang-cpp.so.14`, which some machines have without libclang.
fn is_libclang(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("libclang") else {
        return false;
    };
    let versioned = rest
        .strip_prefix('-')
        .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()));
    (rest.starts_with(".so") || versioned) && rest.contains(".so")
}

/// The directory of the wheel's libclang.so, installing the wheel on first use.
fn wheel_libclang() -> Result<PathBuf, String> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or("neither XDG_CACHE_HOME nor HOME is set")?;
    let venv = cache.join("dyad").join("libclang");
    if let Some(dir) = find_native(&venv) {
        return Ok(dir);
    }
    eprintln!(
        "xtask: no libclang on this machine (RocksDB's bindings need one); installing the \
         {LIBCLANG_WHEEL} wheel into {}",
        venv.display()
    );
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(venv.join("bin").join("pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        LIBCLANG_WHEEL,
    ]))?;
    find_native(&venv)
        .ok_or_else(|| format!("the wheel put no libclang.so under {}", venv.display()))
}

/// `lib/python3.*/site-packages/clang/native` in `venv`, if it holds libclang.so.
fn find_native(venv: &Path) -> Option<PathBuf> {
    std::fs::read_dir(venv.join("lib"))
        .ok()?
        .flatten()
        .map(|e| e.path().join("site-packages/clang/native"))
        .find(|dir| has_libclang(dir))
}

/// gcc's directory of built-in headers.
fn gcc_headers() -> Result<String, String> {
    let out = Command::new("gcc")
        .arg("-print-file-name=include")
        .output()
        .map_err(|e| format!("cannot run gcc to find its headers: {e}"))?;
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    match Path::new(&dir).join("stdbool.h").is_file() {
        true => Ok(dir),
        false => Err(format!("gcc's header directory {dir:?} has no stdbool.h")),
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    match status.success() {
        true => Ok(()),
        false => Err(format!("{command:?} failed ({status})")),
    }
}

#[cfg(test)]
mod tests {
    use super::is_libclang;

    #[test]
    fn only_libclang_itself_counts() {
        for name in [
            "libclang.so",
            "libclang.so.18",
            "libclang-18.so",
            "libclang-14.so.1",
        ] {
            assert!(is_libclang(name), "{name}");
        }
        for name in [
            "libclang-cpp.so.14",
            "libclang_rt.asan.so",
            "libclangBasic.a",
            "clang",
        ] {
            assert!(!is_libclang(name), "{name}");
        }
    }
}
