//! How the stockpile lays out its RocksDB keys and metadata values.
//!
//! Column family `chunks` holds item records: key `chunk_key(stream, lane, first)`, value the
//! records of consecutive items. Column family `meta` holds everything the store must get back
//! after a crash, each entry changed in the same write batch as the data it describes:
//!
//! | key | value |
//! |---|---|
//! | `P` | the party whose stockpile this is (1 byte) |
//! | `S` stream | item size, then put, taken, discarded, in-flight counters, then the record layout's revision where it is above 1 (`Kind::layout_revision`), u64 each |
//! | `N` stream lane | the lane's `next` (one past its last committed item) u64 |
//! | `C` chunk key | the chunk's item count and how many of them were handed out, u64 each |
//! | `L` lease | the stream, then the item count u64 |
//! | `I` | the next lease id u64 |
//! | `A` | the next ledger record's number u64, present once the ledger is on |
//!
//! Column family `audit` holds the ledger ([`crate::audit`]): key the record's number u64,
//! value an [`crate::audit::Entry`].
//!
//! Integers in keys are big-endian so that RocksDB orders them numerically.

pub const PARTY: &[u8] = b"P";
pub const NEXT_LEASE: &[u8] = b"I";
pub const NEXT_AUDIT: &[u8] = b"A";
pub const STREAM: u8 = b'S';
pub const LANE: u8 = b'N';
pub const CHUNK: u8 = b'C';
pub const LEASE: u8 = b'L';

/// A stream name with its length in front, so that prefixes of names cannot collide.
fn stream_prefix(out: &mut Vec<u8>, stream: &str) {
    out.extend_from_slice(&(stream.len() as u16).to_be_bytes());
    out.extend_from_slice(stream.as_bytes());
}

/// The key of a chunk of records in column family `chunks`.
pub fn chunk_key(stream: &str, lane: u32, first: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 + stream.len() + 12);
    stream_prefix(&mut key, stream);
    key.extend_from_slice(&lane.to_be_bytes());
    key.extend_from_slice(&first.to_be_bytes());
    key
}

/// Splits a chunk key back into stream, lane and first item.
pub fn parse_chunk_key(key: &[u8]) -> Option<(String, u32, u64)> {
    let len = usize::from(u16::from_be_bytes(key.get(..2)?.try_into().ok()?));
    let stream = std::str::from_utf8(key.get(2..2 + len)?).ok()?.to_owned();
    let rest = key.get(2 + len..)?;
    if rest.len() != 12 {
        return None;
    }
    let lane = u32::from_be_bytes(rest[..4].try_into().ok()?);
    let first = u64::from_be_bytes(rest[4..].try_into().ok()?);
    Some((stream, lane, first))
}

/// A metadata key: the tag byte, then the parts.
pub fn meta_key(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + body.len());
    key.push(tag);
    key.extend_from_slice(body);
    key
}

pub fn stream_key(stream: &str) -> Vec<u8> {
    meta_key(STREAM, stream.as_bytes())
}

pub fn lane_key(stream: &str, lane: u32) -> Vec<u8> {
    let mut body = Vec::new();
    stream_prefix(&mut body, stream);
    body.extend_from_slice(&lane.to_be_bytes());
    meta_key(LANE, &body)
}

pub fn lease_key(lease: u64) -> Vec<u8> {
    meta_key(LEASE, &lease.to_be_bytes())
}

/// Parses a lane key's body (after the tag byte).
pub fn parse_lane_key(body: &[u8]) -> Option<(String, u32)> {
    let len = usize::from(u16::from_be_bytes(body.get(..2)?.try_into().ok()?));
    let stream = std::str::from_utf8(body.get(2..2 + len)?).ok()?.to_owned();
    let lane = u32::from_be_bytes(body.get(2 + len..)?.try_into().ok()?);
    Some((stream, lane))
}

/// Fixed-width little-endian `u64` fields.
pub fn encode_u64s(fields: &[u64]) -> Vec<u8> {
    fields.iter().flat_map(|f| f.to_le_bytes()).collect()
}

/// Reads `N` little-endian `u64` fields, or `None` if the value is not exactly that long.
pub fn decode_u64s<const N: usize>(bytes: &[u8]) -> Option<[u64; N]> {
    if bytes.len() != 8 * N {
        return None;
    }
    let mut out = [0u64; N];
    for (o, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        *o = u64::from_le_bytes(chunk.try_into().ok()?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_order_numerically() {
        let key = chunk_key("comparison-mask", 3, 258);
        assert_eq!(
            parse_chunk_key(&key),
            Some(("comparison-mask".into(), 3, 258))
        );
        assert!(chunk_key("dabit", 0, 255) < chunk_key("dabit", 0, 256));
        assert!(chunk_key("dabit", 0, u64::MAX) < chunk_key("dabit", 1, 0));
        let lane = lane_key("dabit", 7);
        assert_eq!(parse_lane_key(&lane[1..]), Some(("dabit".into(), 7)));
        assert_eq!(decode_u64s::<2>(&encode_u64s(&[1, 2])), Some([1, 2]));
        assert_eq!(decode_u64s::<2>(&[0; 15]), None);
    }
}
