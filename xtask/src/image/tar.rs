//! A POSIX tar (ustar) archive of a small root filesystem, written by hand so that every entry's
//! owner, mode and time are exactly what the image needs (`docker import` keeps them), whoever
//! runs the build and whatever the files on the build machine say. Fixed times make the same
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

impl Entry {
    fn path(&self) -> &str {
        match self {
            Entry::Dir { path, .. } | Entry::File { path, .. } => path,
        }
    }
}

/// The modification time of every entry: 2000-01-01, any fixed time would do.
const MTIME: u64 = 946_684_800;

/// Writes `entries` as a tar archive. Paths are relative (`etc/passwd`) and at most 100 bytes:
/// the root filesystems here need no longer names, so the ustar prefix field is not used.
pub fn write(out: &mut impl Write, entries: &[Entry]) -> io::Result<()> {
    for entry in entries {
        let (size, flag, mode, owner) = match entry {
            Entry::Dir { mode, owner, .. } => (0, b'5', *mode, *owner),
            Entry::File {
                mode,
                owner,
                contents,
                ..
            } => (contents.len() as u64, b'0', *mode, *owner),
        };
        let name = match entry {
            Entry::Dir { path, .. } => format!("{path}/"),
            Entry::File { path, .. } => path.clone(),
        };
        if name.len() > 100 || entry.path().starts_with('/') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name:?} is not a relative path of at most 100 bytes"),
            ));
        }
        out.write_all(&header(&name, mode, owner, size, flag))?;
        if let Entry::File { contents, .. } = entry {
            out.write_all(contents)?;
            out.write_all(&vec![0; padding(contents.len())])?;
        }
    }
    // Two zero blocks end the archive.
    out.write_all(&[0; 1024])
}

/// Zero bytes after `len` bytes of contents up to the next 512-byte block.
fn padding(len: usize) -> usize {
    (512 - len % 512) % 512
}

/// A ustar header block.
fn header(name: &str, mode: u32, owner: u32, size: u64, flag: u8) -> [u8; 512] {
    let mut block = [0u8; 512];
    let mut put = |at: usize, bytes: &[u8]| block[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, name.as_bytes());
    put(100, &octal(u64::from(mode), 8));
    put(108, &octal(u64::from(owner), 8));
    put(116, &octal(u64::from(owner), 8));
    put(124, &octal(size, 12));
    put(136, &octal(MTIME, 12));
    put(156, &[flag]);
    put(257, b"ustar\x0000");
    // The checksum is computed with its own field as spaces.
    put(148, b"        ");
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    block[148..156].copy_from_slice(&octal(sum, 8));
    block
}

/// `value` as zero-padded octal digits ending in a NUL, `width` bytes in all.
fn octal(value: u64, width: usize) -> Vec<u8> {
    let mut digits = format!("{value:0w$o}", w = width - 1).into_bytes();
    digits.push(0);
    digits
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
