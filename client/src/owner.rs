//! A data owner's side of the dataset service (`proto/dyad/datasets/v1/datasets.proto`, issue
//! 31): share `i` of a dataset goes to server `i` only, in chunks, resumed after a cut, with the
//! digests of both shares; listing and deleting the owner's own datasets. The shares come made
//! (`dyad upload` splits with `dyad_server::datasets::shares::split`; the Python package splits
//! with numpy): this module moves bytes, it never sees the data.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use dyad_proto::datasets::datasets_client::DatasetsClient;
use dyad_proto::datasets::{
    DatasetInfo, DeleteRequest, Finish, ListRequest, StatusRequest, UploadChunk,
};
use sha2::{Digest, Sha256};
use tonic::Code;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

use crate::{ClientError, Server, authorized, channel};

/// Bytes per chunk: small enough for gRPC's default 4 MiB message, large enough that the
/// per-message cost does not show.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Attempts per server before an upload gives up: each resumes where the last stopped.
pub const ATTEMPTS: usize = 5;

/// An owner connected to both servers' dataset services.
pub struct Owner {
    servers: [DatasetsClient<Channel>; 2],
    authorization: [MetadataValue<Ascii>; 2],
}

impl Owner {
    /// Connects to servers 0 and 1 (each `Server`'s token is this owner's token there).
    pub async fn connect(servers: [Server; 2], timeout: Duration) -> Result<Owner, ClientError> {
        let mut clients = Vec::new();
        let mut authorization = Vec::new();
        for (i, s) in servers.iter().enumerate() {
            let token = crate::authorization(i, s)?.ok_or_else(|| {
                ClientError::Input(format!("server {i}: an owner needs its token there"))
            })?;
            authorization.push(token);
            let channel = channel(i, s, timeout).await?;
            clients.push(DatasetsClient::new(channel).max_decoding_message_size(64 << 20));
        }
        Ok(Owner {
            servers: pair(clients),
            authorization: pair(authorization),
        })
    }

    fn request<T>(&self, i: usize, message: T) -> tonic::Request<T> {
        authorized(message, &Some(self.authorization[i].clone()))
    }

    /// Uploads `shares[i]` (the bytes of P`i`'s dataset share file) to server `i` as `name`,
    /// both at once, each resuming where the server stands (after an earlier cut, too).
    /// `progress(i, bytes)` hears how far each server's upload has gone.
    pub async fn upload(
        &mut self,
        name: &str,
        shares: [Bytes; 2],
        progress: Progress,
    ) -> Result<[DatasetInfo; 2], ClientError> {
        let digests = [0, 1].map(|i| <[u8; 32]>::from(Sha256::digest(&shares[i])));
        let one = |i: usize| {
            let finish = Finish {
                size: shares[i].len() as u64,
                sha256: digests[i].to_vec().into(),
                peer_sha256: digests[1 - i].to_vec().into(),
            };
            let upload = Upload {
                server: i,
                name: name.to_owned(),
                bytes: shares[i].clone(),
                finish,
                progress: progress.clone(),
            };
            upload.run(self.servers[i].clone(), self.authorization[i].clone())
        };
        let (r0, r1) = tokio::join!(one(0), one(1));
        Ok([r0?, r1?])
    }

    /// This owner's datasets on each server.
    pub async fn list(&mut self) -> Result<[Vec<DatasetInfo>; 2], ClientError> {
        let mut lists = Vec::new();
        for i in 0..2 {
            let request = self.request(i, ListRequest {});
            let list = self.servers[i]
                .list(request)
                .await
                .map_err(|status| ClientError::Server { server: i, status })?;
            lists.push(list.into_inner().datasets);
        }
        Ok(pair(lists))
    }

    /// Deletes this owner's dataset `name` (or its unfinished upload) on both servers; a
    /// server that has none is not an error once the other had it.
    pub async fn delete(&mut self, name: &str) -> Result<(), ClientError> {
        let mut found = false;
        for i in 0..2 {
            let request = self.request(i, DeleteRequest { name: name.into() });
            match self.servers[i].delete(request).await {
                Ok(_) => found = true,
                Err(status) if status.code() == Code::NotFound => {}
                Err(status) => return Err(ClientError::Server { server: i, status }),
            }
        }
        match found {
            true => Ok(()),
            false => Err(ClientError::Input(format!(
                "neither server has a dataset {name:?}"
            ))),
        }
    }
}

/// What an upload reports: the server (0 or 1) and the bytes it has been sent.
pub type Progress = Arc<dyn Fn(usize, u64) + Send + Sync>;

/// One server's upload.
struct Upload {
    server: usize,
    name: String,
    bytes: Bytes,
    finish: Finish,
    progress: Progress,
}

impl Upload {
    /// Asks where the server stands, sends the rest, and on a cut (the connection, or the
    /// server restarting) asks again, up to [`ATTEMPTS`] times.
    async fn run(
        self,
        mut client: DatasetsClient<Channel>,
        authorization: MetadataValue<Ascii>,
    ) -> Result<DatasetInfo, ClientError> {
        let (i, name) = (self.server, &self.name);
        let authorization = Some(authorization);
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let status = client
                .status(authorized(
                    StatusRequest { name: name.clone() },
                    &authorization,
                ))
                .await;
            let held = match status {
                Ok(s) => s.into_inner().received,
                // Done before (a resumed upload whose other half was cut): the same bytes.
                Err(status) if status.code() == Code::AlreadyExists => {
                    return self
                        .stored(&mut client, &authorization)
                        .await?
                        .ok_or(ClientError::Server { server: i, status });
                }
                Err(status) if retry(&status) => {
                    last = Some(status);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                Err(status) => return Err(ClientError::Server { server: i, status }),
            };
            if held > self.bytes.len() as u64 {
                return Err(ClientError::Answers(format!(
                    "server {i} holds {held} bytes of {name:?}, more than the {} of this \
                     upload: delete the unfinished upload first",
                    self.bytes.len()
                )));
            }
            match client
                .upload(authorized(self.chunks(held), &authorization))
                .await
            {
                Ok(uploaded) => {
                    return uploaded.into_inner().dataset.ok_or_else(|| {
                        ClientError::Answers(format!(
                            "server {i} stored {name:?} without saying what"
                        ))
                    });
                }
                Err(status) if retry(&status) => last = Some(status),
                Err(status) => return Err(ClientError::Server { server: i, status }),
            }
        }
        Err(ClientError::Server {
            server: i,
            status: last.unwrap_or_else(|| tonic::Status::unavailable("no attempt was made")),
        })
    }

    /// The dataset of this name the server holds, if it is these very bytes.
    async fn stored(
        &self,
        client: &mut DatasetsClient<Channel>,
        authorization: &Option<MetadataValue<Ascii>>,
    ) -> Result<Option<DatasetInfo>, ClientError> {
        let list = client
            .list(authorized(ListRequest {}, authorization))
            .await
            .map_err(|status| ClientError::Server {
                server: self.server,
                status,
            })?;
        Ok(list
            .into_inner()
            .datasets
            .into_iter()
            .find(|d| d.name == self.name && d.sha256 == self.finish.sha256))
    }

    /// The chunks from `from` on, the last carrying the digests, as a stream that reports
    /// each chunk as it is taken.
    fn chunks(&self, from: u64) -> impl futures::Stream<Item = UploadChunk> + Send + 'static {
        let (name, bytes, finish) = (self.name.clone(), self.bytes.clone(), self.finish.clone());
        let (server, progress) = (self.server, self.progress.clone());
        let len = bytes.len() as u64;
        let mut offsets: Vec<u64> = (from..len).step_by(CHUNK_BYTES).collect();
        if offsets.is_empty() {
            offsets.push(from);
        }
        let last = offsets.len() - 1;
        futures::stream::iter(offsets.into_iter().enumerate().map(move |(k, offset)| {
            let end = (offset + CHUNK_BYTES as u64).min(len);
            progress(server, end);
            UploadChunk {
                name: name.clone(),
                offset,
                data: bytes.slice(offset as usize..end as usize),
                finish: (k == last).then(|| finish.clone()),
            }
        }))
    }
}

/// Two of a kind, from a vector of two.
fn pair<T>(v: Vec<T>) -> [T; 2] {
    v.try_into().unwrap_or_else(|_| unreachable!("two servers"))
}

/// Whether another attempt may get further: the connection failed or the stream was cut.
fn retry(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Aborted | Code::Unknown | Code::Cancelled | Code::Internal
    )
}
