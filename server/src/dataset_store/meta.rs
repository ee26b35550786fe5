//! A stored dataset's description (`datasets/NAME/meta`): who owns it, what its share holds and
//! the digests of both servers' shares, as `key value` lines.

use crate::DatasetShare;

use super::Finish;

/// A complete dataset as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its name.
    pub name: String,
    /// The owner who uploaded it.
    pub owner: String,
    /// The id both halves of the owner's split carry, as hex.
    pub id: String,
    /// Training examples.
    pub train: u64,
    /// Test examples.
    pub test: u64,
    /// One example's channels, height and width.
    pub shape: (u32, u32, u32),
    /// Classes.
    pub classes: u32,
    /// Fixed-point fractional bits.
    pub f: u32,
    /// The share file's size.
    pub bytes: u64,
    /// Its SHA-256.
    pub sha256: [u8; 32],
    /// The SHA-256 of the other server's share, as the owner said.
    pub peer_sha256: [u8; 32],
}

impl Stored {
    /// The description of `share`, uploaded by `owner` as `name`.
    pub fn new(name: &str, owner: &str, share: &DatasetShare, finish: &Finish) -> Stored {
        let (c, h, w) = share.shape;
        Stored {
            name: name.to_owned(),
            owner: owner.to_owned(),
            id: share.id_hex(),
            train: share.train.len() as u64,
            test: share.test.len() as u64,
            shape: (c as u32, h as u32, w as u32),
            classes: share.classes as u32,
            f: share.f,
            bytes: finish.size,
            sha256: finish.sha256,
            peer_sha256: finish.peer_sha256,
        }
    }

    /// The digests of P0's and P1's shares, in that order, for a server that is `party`: what
    /// both servers of a job must agree on.
    pub fn pair_digests(&self, party: u8) -> [[u8; 32]; 2] {
        match party {
            0 => [self.sha256, self.peer_sha256],
            _ => [self.peer_sha256, self.sha256],
        }
    }

    /// The `key value` lines of the file.
    pub fn to_text(&self) -> String {
        let (c, h, w) = self.shape;
        format!(
            "owner {}\nid {}\ntrain {}\ntest {}\nshape {c} {h} {w}\nclasses {}\nf {}\nbytes {}\nsha256 {}\npeer_sha256 {}\n",
            self.owner,
            self.id,
            self.train,
            self.test,
            self.classes,
            self.f,
            self.bytes,
            hex(&self.sha256),
            hex(&self.peer_sha256)
        )
    }

    /// Reads the lines [`Stored::to_text`] writes.
    pub fn parse(name: &str, text: &str) -> Result<Stored, String> {
        let field = |key: &str| -> Result<&str, String> {
            text.lines()
                .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
                .ok_or_else(|| format!("no {key} line"))
        };
        let number = |key: &str| -> Result<u64, String> {
            field(key)?.parse().map_err(|_| format!("a bad {key} line"))
        };
        let small = |key: &str| -> Result<u32, String> {
            u32::try_from(number(key)?).map_err(|_| format!("a bad {key} line"))
        };
        let digest = |key: &str| -> Result<[u8; 32], String> {
            unhex(field(key)?).ok_or_else(|| format!("a bad {key} line"))
        };
        let shape: Vec<u32> = field("shape")?
            .split(' ')
            .map(|v| v.parse().map_err(|_| "a bad shape line".to_owned()))
            .collect::<Result<_, _>>()?;
        let [c, h, w] = shape[..] else {
            return Err("a bad shape line".into());
        };
        Ok(Stored {
            name: name.to_owned(),
            owner: field("owner")?.to_owned(),
            id: field("id")?.to_owned(),
            train: number("train")?,
            test: number("test")?,
            shape: (c, h, w),
            classes: small("classes")?,
            f: small("f")?,
            bytes: number("bytes")?,
            sha256: digest("sha256")?,
            peer_sha256: digest("peer_sha256")?,
        })
    }
}

/// Bytes as lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// 64 hex digits as 32 bytes.
fn unhex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}
