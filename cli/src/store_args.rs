//! The options that point a server's process at its own stockpile.

use std::path::PathBuf;

use dyad_store::auth::read_token;

#[derive(clap::Args, Debug, Clone)]
pub struct StoreArgs {
    /// This server's stockpile (`host:port` of its `dyad store`).
    #[arg(long)]
    pub store: String,
    /// The stockpile's token file (`token` in its data directory, as `dyad store` made it).
    #[arg(long)]
    pub store_token: PathBuf,
}

impl StoreArgs {
    /// The stockpile's address and its token.
    pub fn address_and_token(&self) -> anyhow::Result<(String, String)> {
        let token = read_token(&self.store_token).map_err(anyhow::Error::msg)?;
        Ok((self.store.clone(), token))
    }
}
