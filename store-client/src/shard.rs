//! Shards: one party's streams spread over several stockpiles (issue 27).
//!
//! One stockpile takes in about what one 16-core worker pair makes (the README's "The
//! stockpile's ceiling"), so a party fed by more pairs runs several, split **by lane**: lane
//! `L`'s items all live on shard `L mod S`. A lane is one worker pair's numbering, so a pair
//! puts into one stockpile only, and everything that holds per lane (P0 puts last, the
//! alignment after a crash, `TakeExact` discarding a lane's leftovers below the named items)
//! holds within that stockpile unchanged. Tags stay unique across the shards because lanes are
//! global. A job's Take is served by one shard, so its lease and its acknowledgement stay on one
//! stockpile too.

/// The shard holding lane `lane`'s items when a party runs `shards` stockpiles (at least one).
pub fn shard_of(lane: u32, shards: usize) -> usize {
    lane as usize % shards.max(1)
}

/// A `--store` list that names no shard, or one shard twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardListError {
    /// An address is empty.
    #[error("`{list}` lists an empty stockpile address (shards are separated by single commas)")]
    Empty {
        /// The list as given.
        list: String,
    },
    /// An address appears twice.
    #[error(
        "`{list}` lists {address} as shards {first} and {second}: each shard is a stockpile of its own"
    )]
    Twice {
        /// The list as given.
        list: String,
        /// The address.
        address: String,
        /// Its first position.
        first: usize,
        /// Its second.
        second: usize,
    },
}

/// The stockpiles a `--store` value lists: addresses separated by commas, shard 0 first.
pub fn addresses(list: &str) -> Result<Vec<String>, ShardListError> {
    let addresses: Vec<String> = list.split(',').map(|a| a.trim().to_owned()).collect();
    if addresses.iter().any(String::is_empty) {
        return Err(ShardListError::Empty {
            list: list.to_owned(),
        });
    }
    if let Some((second, twice)) = addresses
        .iter()
        .enumerate()
        .find(|(i, a)| addresses[..*i].contains(a))
    {
        return Err(ShardListError::Twice {
            list: list.to_owned(),
            address: twice.clone(),
            first: addresses[..second]
                .iter()
                .position(|a| a == twice)
                .unwrap_or(0),
            second,
        });
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_go_round_the_shards() {
        let shards: Vec<usize> = (0..6).map(|lane| shard_of(lane, 3)).collect();
        assert_eq!(shards, [0, 1, 2, 0, 1, 2]);
        assert!((0..100).all(|lane| shard_of(lane, 1) == 0));
        assert_eq!(shard_of(u32::MAX, 2), 1);
    }

    #[test]
    fn a_store_list_names_each_shard_once() {
        assert_eq!(addresses("a:7100").expect("one shard"), ["a:7100"]);
        assert_eq!(
            addresses("dyad-store-0.dyad-store:7100, dyad-store-1.dyad-store:7100").expect("two"),
            [
                "dyad-store-0.dyad-store:7100",
                "dyad-store-1.dyad-store:7100"
            ]
        );
        assert!(matches!(addresses(""), Err(ShardListError::Empty { .. })));
        assert!(matches!(
            addresses("a:1,,b:1"),
            Err(ShardListError::Empty { .. })
        ));
        let twice = addresses("a:1,b:1,a:1").expect_err("one twice").to_string();
        assert!(twice.contains("shards 0 and 2"), "{twice}");
    }
}
