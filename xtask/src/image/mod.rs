//! The container image `dyad:<version>` (and `dyad:latest`): the `dyad` binary, stripped, with
//! the shared libraries it loads, in an image built from nothing (no base image: no registry is
//! needed, and nothing but Dyad and its C runtime is inside to patch or to exploit).
//!
//! The root filesystem is assembled here and handed to `docker import` as a tar archive, which
//! keeps the owners and modes this writes ([`archive`]). It holds:
//! - `/dyad`, the entry point, and the libraries `ldd` lists at the paths it lists them (glibc,
//!   libstdc++ for RocksDB, libgcc_s, the dynamic loader);
//! - `/etc/passwd` and `/etc/group` with the user `dyad` (uid and gid 10001), which the image
//!   runs as, and `/etc/nsswitch.conf` (host names from `/etc/hosts`, then DNS: the container
//!   runtime provides both files);
//! - a writable `/tmp` and `/var/lib/dyad`, the working directory, owned by `dyad`, for
//!   stockpiles and job outputs (mount volumes there: an empty named volume takes the owner
//!   and mode of the directory it is mounted over).
//!
//! Nothing else is read at run time: the bundled digits are inside the binary, the party link
//! and the client endpoint pin certificates (no system trust store), and charts are drawn
//! without text when no font is found (they are not needed in a container).
//!
//! The module is shared by `cargo xtask image` and the Compose end-to-end test
//! (`tests/e2e/compose.rs`), which builds the image from the binary under test.

mod archive;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use archive::Entry;

/// The user and group the image runs as.
pub const UID: u32 = 10001;

/// The image's working directory, writable by [`UID`].
pub const WORKDIR: &str = "/var/lib/dyad";

/// Why the image could not be built.
#[derive(Debug)]
pub enum ImageError {
    /// A tool the build runs (`strip`, `ldd`, `docker`) could not be started.
    Tool { tool: String, why: std::io::Error },
    /// A tool ran and failed.
    Failed { what: String, stderr: String },
    /// A file could not be read or written.
    File { path: PathBuf, why: std::io::Error },
    /// `ldd` printed something this does not understand, or a library it needs is missing.
    Libraries(String),
    /// No tag was given.
    NoTag,
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Tool { tool, why } => write!(f, "cannot run {tool}: {why}"),
            ImageError::Failed { what, stderr } => write!(f, "{what} failed: {}", stderr.trim()),
            ImageError::File { path, why } => write!(f, "{}: {why}", path.display()),
            ImageError::Libraries(why) => write!(f, "shared libraries: {why}"),
            ImageError::NoTag => write!(f, "no tag to give the image"),
        }
    }
}

impl std::error::Error for ImageError {}

/// What was built.
pub struct Image {
    /// The tags given, all naming the same image.
    pub tags: Vec<String>,
    /// Its size as `docker image inspect` reports it (the unpacked layer), in bytes.
    pub size: u64,
}

/// Builds an image of `binary` under each of `tags` (`name:tag`, at least one), assembling its
/// root filesystem in `work` (created if missing; the stripped binary and the archive stay
/// there for inspection).
pub fn build(binary: &Path, tags: &[String], work: &Path) -> Result<Image, ImageError> {
    let (first, rest) = tags.split_first().ok_or(ImageError::NoTag)?;
    let file_error = |path: &Path| {
        let path = path.to_path_buf();
        move |why| ImageError::File { path, why }
    };
    std::fs::create_dir_all(work).map_err(file_error(work))?;
    let stripped = work.join("dyad");
    run(
        Command::new("strip")
            .arg("--strip-all")
            .arg("-o")
            .arg(&stripped)
            .arg(binary),
        "strip",
    )?;
    let mut entries = base_entries();
    entries.push(Entry::File {
        path: "dyad".into(),
        mode: 0o755,
        owner: 0,
        contents: std::fs::read(&stripped).map_err(file_error(&stripped))?,
    });
    let ldd = run(Command::new("ldd").arg(&stripped), "ldd")?;
    for library in libraries(&ldd)? {
        let relative = library.trim_start_matches('/').to_owned();
        add_parents(&mut entries, &relative);
        // The file itself, not the symbolic link ldd may name.
        let contents = std::fs::read(&library).map_err(file_error(Path::new(&library)))?;
        entries.push(Entry::File {
            path: relative,
            mode: 0o755,
            owner: 0,
            contents,
        });
    }
    let archive = work.join("rootfs.tar");
    let mut file = std::fs::File::create(&archive).map_err(file_error(&archive))?;
    archive::write(&mut file, &entries).map_err(file_error(&archive))?;
    drop(file);

    let mut import = Command::new("docker");
    import.arg("import");
    for change in [
        format!("USER {UID}:{UID}"),
        format!("WORKDIR {WORKDIR}"),
        r#"ENTRYPOINT ["/dyad"]"#.to_owned(),
        "LABEL org.opencontainers.image.title=dyad".to_owned(),
    ] {
        import.arg("--change").arg(change);
    }
    run(import.arg(&archive).arg(first), "docker import")?;
    for tag in rest {
        run(
            Command::new("docker").args(["tag", first, tag]),
            "docker tag",
        )?;
    }
    let size = run(
        Command::new("docker").args(["image", "inspect", "--format", "{{.Size}}", first]),
        "docker image inspect",
    )?;
    let size = size.trim().parse().map_err(|_| ImageError::Failed {
        what: "docker image inspect".into(),
        stderr: format!("a size that is not a number: {size:?}"),
    })?;
    Ok(Image {
        tags: tags.to_vec(),
        size,
    })
}

/// The directories and configuration files of the root filesystem.
fn base_entries() -> Vec<Entry> {
    let dir = |path: &str, mode, owner| Entry::Dir {
        path: path.into(),
        mode,
        owner,
    };
    let text = |path: &str, contents: String| Entry::File {
        path: path.into(),
        mode: 0o644,
        owner: 0,
        contents: contents.into_bytes(),
    };
    vec![
        dir("etc", 0o755, 0),
        text(
            "etc/passwd",
            format!(
                "root:x:0:0:root:/:/nonexistent\ndyad:x:{UID}:{UID}:dyad:{WORKDIR}:/nonexistent\n"
            ),
        ),
        text("etc/group", format!("root:x:0:\ndyad:x:{UID}:\n")),
        text("etc/nsswitch.conf", "hosts: files dns\n".into()),
        dir("tmp", 0o1777, 0),
        dir("var", 0o755, 0),
        dir("var/lib", 0o755, 0),
        dir(WORKDIR.trim_start_matches('/'), 0o755, UID),
    ]
}

/// Adds the directories above `path` that are not there yet (root's, mode 755).
fn add_parents(entries: &mut Vec<Entry>, path: &str) {
    let mut parent = String::new();
    for part in path
        .split('/')
        .collect::<Vec<_>>()
        .split_last()
        .map_or(&[][..], |(_, p)| p)
    {
        if !parent.is_empty() {
            parent.push('/');
        }
        parent.push_str(part);
        let known = entries
            .iter()
            .any(|e| matches!(e, Entry::Dir { path, .. } if *path == parent));
        if !known {
            entries.push(Entry::Dir {
                path: parent.clone(),
                mode: 0o755,
                owner: 0,
            });
        }
    }
}

/// The absolute paths of the libraries in `ldd`'s output, the dynamic loader included; the
/// vDSO, which the kernel provides, is left out.
fn libraries(ldd: &str) -> Result<Vec<String>, ImageError> {
    let mut found = Vec::new();
    for line in ldd.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains("not found") {
            return Err(ImageError::Libraries(format!("ldd says {line:?}")));
        }
        // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)`, or for the loader
        // `/lib64/ld-linux-x86-64.so.2 (0x...)`; the vDSO has no path.
        let path = line.split_once(" => ").map_or(line, |(_, p)| p);
        let path = path.split(" (").next().unwrap_or(path);
        if path.starts_with('/') {
            found.push(path.to_owned());
        } else if !path.starts_with("linux-vdso") && !path.starts_with("linux-gate") {
            return Err(ImageError::Libraries(format!(
                "cannot read ldd's line {line:?}"
            )));
        }
    }
    match found.is_empty() {
        true => Err(ImageError::Libraries(
            "ldd listed none (a static binary needs no image of this kind)".into(),
        )),
        false => Ok(found),
    }
}

/// Runs `command`, returning its standard output.
fn run(command: &mut Command, what: &str) -> Result<String, ImageError> {
    let tool = command.get_program().to_string_lossy().into_owned();
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|why| ImageError::Tool { tool, why })?;
    match out.status.success() {
        true => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        false => Err(ImageError::Failed {
            what: what.into(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::libraries;

    #[test]
    fn ldd_lines_give_the_libraries_and_the_loader() {
        let ldd = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                   \tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f6e)\n\
                   \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f6e)\n\
                   \t/lib64/ld-linux-x86-64.so.2 (0x00007f6e)\n";
        assert_eq!(
            libraries(ldd).expect("understood"),
            [
                "/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
        );
    }

    #[test]
    fn a_missing_library_is_an_error() {
        let ldd = "\tlibfoo.so.1 => not found\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n";
        let error = libraries(ldd).expect_err("refused").to_string();
        assert!(error.contains("libfoo.so.1 => not found"), "{error}");
    }
}
