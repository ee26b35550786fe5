//! The image's root filesystem as a tar archive (with the `tar` crate), every entry's owner,
//! mode and time set here rather than taken from the build machine's files: `docker import`
//! keeps them, so the image is the same whoever builds it, and fixed times make the same
//! inputs give the same archive, byte for byte.

use std::io::{self, Write};

/// One entry of the root filesystem.
pub enum Entry {
    /// A directory (`path` without the trailing slash).
    Dir { path: String, mode: u32, owner: u32 },
    /// A regular file.
    File {
        path: String,
        mode: u32,
        owner: u32,
        contents: Vec<u8>,
    },
}

/// The modification time of every entry: 2000-01-01, any fixed time would do.
const MTIME: u64 = 946_684_800;

/// Writes `entries` as a tar archive; paths are relative (`etc/passwd`).
pub fn write(out: impl Write, entries: &[Entry]) -> io::Result<()> {
    let mut archive = tar::Builder::new(out);
    for entry in entries {
        let (path, mode, owner, kind, contents) = match entry {
            // A directory's name ends in a slash, as tar itself writes it.
            Entry::Dir { path, mode, owner } => (
                format!("{path}/"),
                *mode,
                *owner,
                tar::EntryType::Directory,
                &[][..],
            ),
            Entry::File {
                path,
                mode,
                owner,
                contents,
            } => (
                path.clone(),
                *mode,
                *owner,
                tar::EntryType::Regular,
                &contents[..],
            ),
        };
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(owner.into());
        header.set_gid(owner.into());
        header.set_mtime(MTIME);
        header.set_size(contents.len() as u64);
        archive.append_data(&mut header, path, contents)?;
    }
    archive.into_inner()?.flush()
}

#[cfg(test)]
mod tests {
    use super::{Entry, write};

    /// The archive lists back with the system's tar, with the owners and modes given.
    #[test]
    fn gnu_tar_reads_it_back() {
        let dir = std::env::temp_dir().join(format!("dyad-tar-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let archive = dir.join("root.tar");
        let mut bytes = Vec::new();
        write(
            &mut bytes,
            &[
                Entry::Dir {
                    path: "tmp".into(),
                    mode: 0o1777,
                    owner: 0,
                },
                Entry::File {
                    path: "etc/passwd".into(),
                    mode: 0o644,
                    owner: 10001,
                    contents: b"dyad:x:10001:10001::/:/nonexistent\n".to_vec(),
                },
            ],
        )
        .expect("in memory");
        std::fs::write(&archive, &bytes).expect("write the archive");
        let listing = std::process::Command::new("tar")
            .args(["--numeric-owner", "-tvf"])
            .arg(&archive)
            .output()
            .expect("tar runs");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(listing.status.success(), "{listing:?}");
        let text = String::from_utf8_lossy(&listing.stdout);
        // Mode, owner/group, size, date, time, name.
        let rows: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        let row = |i: usize| [0, 1, 2, 5].map(|k| rows[i][k]);
        assert_eq!(row(0), ["drwxrwxrwt", "0/0", "0", "tmp/"], "{text}");
        assert_eq!(
            row(1),
            ["-rw-r--r--", "10001/10001", "35", "etc/passwd"],
            "{text}"
        );
    }
}
