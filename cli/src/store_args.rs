//! The options that point a server's process at its own stockpile.

use std::path::PathBuf;

use dyad_store_client::shard;
use dyad_store_client::token::read_token;
use dyad_vocabulary::Pool;

#[derive(clap::Args, Debug, Clone)]
pub struct StoreArgs {
    /// This server's stockpile (`host:port` of its `dyad store`; a name is resolved at each
    /// connection), or its shards separated by commas (`a:7100,b:7100`, shard 0 first): lane L's
    /// items live on shard L mod S. A worker puts into its lane's shard; a job takes from all.
    /// A server's workers and jobs list its shards in the same order, and both servers list as
    /// many.
    #[arg(long)]
    pub store: String,
    /// The stockpile's token file (`token` in its data directory, as `dyad store` made it); a
    /// party's shards share one token (start each with `--token-file` of the same file).
    #[arg(long)]
    pub store_token: PathBuf,
    /// The pool of streams to use: a training job and `dyad serve` sharing a stockpile pair
    /// need one each (`--pool train`, `--pool serve`), and the worker pair stocking a pool is
    /// started with the same `--pool`. Default: the default pool.
    #[arg(long, default_value = "")]
    pub pool: Pool,
}

impl StoreArgs {
    /// The shards' addresses (shard 0 first) and their token.
    pub fn addresses_and_token(&self) -> anyhow::Result<(Vec<String>, String)> {
        let addresses = shard::addresses(&self.store)?;
        let token = read_token(&self.store_token)?;
        Ok((addresses, token))
    }
}
