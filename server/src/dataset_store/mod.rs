//! The datasets a server holds for training jobs: each owner's share of its data, uploaded over
//! the dataset service (`crate::dataset_service`) and kept on this server's disk by name
//! (issue 31). The store knows files, names and owners; what a share means is
//! [`DatasetShare`]'s, which checks every upload before it becomes visible.
//!
//! Layout under the store's directory:
//!
//! - `incoming/NAME/owner`, `incoming/NAME/share.part`: an upload under way. It grows chunk by
//!   chunk at the offset the owner names, which must be its length, so a cut upload resumes
//!   where it stopped ([`DatasetStore::received`]); only the owner who started it may go on.
//! - `datasets/NAME/share.data`, `datasets/NAME/meta`: a complete dataset. An upload becomes
//!   one when its last chunk says its size and SHA-256 and the file matches both and reads as
//!   this server's share: then its directory is renamed into `datasets/`, in one step, so a
//!   dataset is either absent or whole, whatever crashes when.
//!
//! Names are one namespace per server: a name taken, by whoever, is refused.

mod error;
mod meta;
#[cfg(test)]
mod tests;
mod union;

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::DatasetShare;
pub use error::StoreError;
pub use meta::Stored;
pub use union::{Union, union};

/// The largest dataset share accepted: 8 GiB, 1.3 million 28x28 examples. The server checks a
/// finished upload in memory, and a job holds its shares in memory, on machines of tens of
/// GiB; beyond it an upload is refused at its first chunk past the limit rather than filling
/// the disk.
pub const MAX_SHARE_BYTES: u64 = 1 << 33;

/// The longest dataset name.
pub const MAX_NAME_CHARS: usize = 64;

/// What the owner says about a finished upload: the file's size and SHA-256, and the SHA-256
/// of the other server's share, which this server cannot check but a job compares with the
/// other server (both must hold the two halves of one split).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    /// The file's size in bytes.
    pub size: u64,
    /// Its SHA-256.
    pub sha256: [u8; 32],
    /// The SHA-256 of the other server's share of the same split.
    pub peer_sha256: [u8; 32],
}

/// One server's datasets, in a directory.
#[derive(Debug)]
pub struct DatasetStore {
    root: PathBuf,
    party: u8,
    /// Held by every change, so that two calls never race on one name.
    lock: Mutex<()>,
}

impl DatasetStore {
    /// Opens (creating) the store in `root` for `party`'s shares.
    pub fn open(root: &Path, party: u8) -> Result<DatasetStore, StoreError> {
        for dir in [root.join("incoming"), root.join("datasets")] {
            fs::create_dir_all(&dir).map_err(StoreError::io("create", &dir))?;
        }
        Ok(DatasetStore {
            root: root.to_owned(),
            party,
            lock: Mutex::new(()),
        })
    }

    /// Which server's shares this store takes.
    pub fn party(&self) -> u8 {
        self.party
    }

    fn incoming(&self, name: &str) -> PathBuf {
        self.root.join("incoming").join(name)
    }

    fn dataset(&self, name: &str) -> PathBuf {
        self.root.join("datasets").join(name)
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Bytes held of `owner`'s unfinished upload of `name` (0 if none): where it resumes.
    pub fn received(&self, owner: &str, name: &str) -> Result<u64, StoreError> {
        check_name(name)?;
        let _guard = self.guard();
        self.refuse_taken(name)?;
        self.staged_length(owner, name)
    }

    /// The length of `owner`'s upload of `name`, 0 if there is none; another owner's is refused.
    fn staged_length(&self, owner: &str, name: &str) -> Result<u64, StoreError> {
        let dir = self.incoming(name);
        let owner_path = dir.join("owner");
        match fs::read_to_string(&owner_path) {
            Ok(started_by) if started_by == owner => {
                let part = dir.join("share.part");
                match fs::metadata(&part) {
                    Ok(m) => Ok(m.len()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
                    Err(e) => Err(StoreError::io("read", &part)(e)),
                }
            }
            Ok(_) => Err(StoreError::NotYours(name.to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(StoreError::io("read", &owner_path)(e)),
        }
    }

    fn refuse_taken(&self, name: &str) -> Result<(), StoreError> {
        match self.dataset(name).exists() {
            true => Err(StoreError::Exists(name.to_owned())),
            false => Ok(()),
        }
    }

    /// Appends `data` at `offset` to `owner`'s upload of `name`, starting it if `offset` is 0
    /// and there is none; returns the bytes now held. A failed write (a full disk) leaves the
    /// upload as it was, to resume.
    pub fn append(
        &self,
        owner: &str,
        name: &str,
        offset: u64,
        data: &[u8],
    ) -> Result<u64, StoreError> {
        check_name(name)?;
        let _guard = self.guard();
        self.refuse_taken(name)?;
        let held = self.staged_length(owner, name)?;
        if offset != held {
            return Err(StoreError::Offset {
                name: name.to_owned(),
                held,
                sent: offset,
            });
        }
        let end = held.saturating_add(data.len() as u64);
        if end > MAX_SHARE_BYTES {
            return Err(StoreError::TooLarge(name.to_owned()));
        }
        let dir = self.incoming(name);
        if held == 0 && !dir.join("owner").exists() {
            fs::create_dir_all(&dir).map_err(StoreError::io("create", &dir))?;
            let owner_path = dir.join("owner");
            fs::write(&owner_path, owner).map_err(StoreError::io("write", &owner_path))?;
        }
        let part = dir.join("share.part");
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&part)
            .map_err(StoreError::io("write", &part))?;
        if let Err(e) = file.write_all(data).and_then(|()| file.flush()) {
            // Back to the length the owner knows, so that it can resume from there.
            let _ = file.set_len(held);
            return Err(StoreError::io("write", &part)(e));
        }
        Ok(end)
    }

    /// Ends `owner`'s upload of `name`: the file must have `finish.size` bytes and the SHA-256
    /// `finish.sha256`, and read as this server's share; then it becomes the dataset `name`.
    /// A file that fails is discarded (the owner starts again); one that is short stays, to
    /// resume.
    pub fn finish(&self, owner: &str, name: &str, finish: &Finish) -> Result<Stored, StoreError> {
        check_name(name)?;
        let _guard = self.guard();
        self.refuse_taken(name)?;
        let held = self.staged_length(owner, name)?;
        if held < finish.size {
            return Err(StoreError::Offset {
                name: name.to_owned(),
                held,
                sent: finish.size,
            });
        }
        let dir = self.incoming(name);
        let result = self.check(owner, name, &dir, finish);
        if result.is_err() {
            let _ = fs::remove_dir_all(&dir);
            return result;
        }
        let stored = result?;
        let final_dir = self.dataset(name);
        fs::rename(&dir, &final_dir).map_err(StoreError::io("rename", &dir))?;
        sync_dir(&self.root.join("datasets"))?;
        Ok(stored)
    }

    /// Checks a whole upload and writes its metadata beside it.
    fn check(
        &self,
        owner: &str,
        name: &str,
        dir: &Path,
        finish: &Finish,
    ) -> Result<Stored, StoreError> {
        let part = dir.join("share.part");
        let mut bytes = Vec::with_capacity(finish.size as usize);
        File::open(&part)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(StoreError::io("read", &part))?;
        if bytes.len() as u64 != finish.size {
            return Err(StoreError::Size {
                name: name.to_owned(),
                held: bytes.len() as u64,
                declared: finish.size,
            });
        }
        let sha256: [u8; 32] = Sha256::digest(&bytes).into();
        if sha256 != finish.sha256 {
            return Err(StoreError::Digest(name.to_owned()));
        }
        let share = DatasetShare::from_bytes(&bytes).map_err(|reason| StoreError::NotAShare {
            name: name.to_owned(),
            reason,
        })?;
        if share.party != self.party {
            return Err(StoreError::WrongParty {
                name: name.to_owned(),
                share: share.party,
                server: self.party,
            });
        }
        let stored = Stored::new(name, owner, &share, finish);
        let data = dir.join("share.data");
        File::open(&part)
            .and_then(|f| f.sync_all())
            .map_err(StoreError::io("write", &part))?;
        fs::rename(&part, &data).map_err(StoreError::io("rename", &part))?;
        crate::files::write_atomically(&dir.join("meta"), stored.to_text().as_bytes())
            .map_err(StoreError::File)?;
        sync_dir(dir)?;
        Ok(stored)
    }

    /// `owner`'s datasets, by name.
    pub fn list(&self, owner: &str) -> Result<Vec<Stored>, StoreError> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|d| d.owner == owner)
            .collect())
    }

    /// Every complete dataset, by name.
    pub fn all(&self) -> Result<Vec<Stored>, StoreError> {
        let dir = self.root.join("datasets");
        let mut names = Vec::new();
        for entry in fs::read_dir(&dir).map_err(StoreError::io("list", &dir))? {
            let entry = entry.map_err(StoreError::io("list", &dir))?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
        names.sort();
        names.iter().map(|n| self.stored(n)).collect()
    }

    /// The metadata of the dataset `name`.
    pub fn stored(&self, name: &str) -> Result<Stored, StoreError> {
        check_name(name)?;
        let path = self.dataset(name).join("meta");
        match fs::read_to_string(&path) {
            Ok(text) => Stored::parse(name, &text).map_err(|reason| StoreError::Meta {
                path: path.clone(),
                reason,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(StoreError::NotFound(name.to_owned()))
            }
            Err(e) => Err(StoreError::io("read", &path)(e)),
        }
    }

    /// Deletes `owner`'s dataset `name`, or discards its unfinished upload of that name.
    pub fn delete(&self, owner: &str, name: &str) -> Result<(), StoreError> {
        check_name(name)?;
        let _guard = self.guard();
        let dir = match self.stored(name) {
            Ok(stored) if stored.owner == owner => self.dataset(name),
            Ok(_) => return Err(StoreError::NotYours(name.to_owned())),
            Err(StoreError::NotFound(_)) => {
                let dir = self.incoming(name);
                match fs::read_to_string(dir.join("owner")) {
                    Ok(started_by) if started_by == owner => dir,
                    Ok(_) => return Err(StoreError::NotYours(name.to_owned())),
                    Err(_) => return Err(StoreError::NotFound(name.to_owned())),
                }
            }
            Err(e) => return Err(e),
        };
        // Out of `datasets/` in one step first, so no job finds it half deleted.
        let doomed = self.root.join("incoming").join(format!(".deleted-{name}"));
        let _ = fs::remove_dir_all(&doomed);
        fs::rename(&dir, &doomed).map_err(StoreError::io("rename", &dir))?;
        fs::remove_dir_all(&doomed).map_err(StoreError::io("delete", &doomed))
    }

    /// The datasets `names`, each with this server's share, for a training job.
    pub fn load(&self, names: &[String]) -> Result<Vec<(Stored, DatasetShare)>, StoreError> {
        names
            .iter()
            .map(|name| {
                let stored = self.stored(name)?;
                let share = DatasetShare::read(&self.dataset(name).join("share.data"))
                    .map_err(StoreError::File)?;
                Ok((stored, share))
            })
            .collect()
    }
}

/// Names are 1 to [`MAX_NAME_CHARS`] characters of `[A-Za-z0-9_.-]`, not starting with a dot.
pub fn check_name(name: &str) -> Result<(), StoreError> {
    let fine = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    match fine {
        true => Ok(()),
        false => Err(StoreError::BadName(name.to_owned())),
    }
}

/// Makes a directory's entries (a rename into it) durable.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io("write", dir))
}
