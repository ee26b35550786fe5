//! The dataset service (`proto/dyad/datasets/v1/datasets.proto`, issue 31): data owners hand
//! this server its share of their data over gRPC (TLS in `dyad datasets`), authenticated by
//! their own tokens, into the [`DatasetStore`] the training jobs read.
//!
//! It is a process of its own (`dyad datasets`), beside the stockpile and the jobs: owners
//! upload before, between and during jobs, which come and go; inference (`dyad serve`) may not
//! run at all where models are trained; and the stockpile holds randomness, taken once, under
//! its own token. Each server runs one, with its own owner list: an owner's token for server 0
//! is worth nothing at server 1.

use std::sync::Arc;

use dyad_proto::datasets::datasets_server::{Datasets, DatasetsServer};
use dyad_proto::datasets::{
    DatasetInfo, DatasetList, DeleteRequest, Deleted, ListRequest, StatusRequest, UploadChunk,
    UploadStatus, Uploaded,
};
use tonic::{Request, Response, Status, Streaming};

use crate::dataset_store::{DatasetStore, Finish, StoreError, Stored};
use crate::serving::Clients;

/// The largest chunk of an upload: 4 MiB of file (the owner's clients send 1 MiB).
pub const MAX_CHUNK_BYTES: usize = 4 << 20;

/// The gRPC service over one store.
#[derive(Debug, Clone)]
pub struct DatasetService {
    store: Arc<DatasetStore>,
    owners: Arc<Clients>,
}

impl DatasetService {
    /// Serves `store` to the owners listed in `owners` (lines `name token`).
    pub fn new(store: Arc<DatasetStore>, owners: Clients) -> DatasetService {
        DatasetService {
            store,
            owners: Arc::new(owners),
        }
    }

    /// The tonic server of this service, taking chunks up to [`MAX_CHUNK_BYTES`].
    pub fn into_server(self) -> DatasetsServer<DatasetService> {
        DatasetsServer::new(self).max_decoding_message_size(MAX_CHUNK_BYTES + (64 << 10))
    }

    /// The owner the call's bearer token names.
    fn owner<T>(&self, request: &Request<T>) -> Result<String, Status> {
        let token = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .ok_or_else(|| {
                Status::unauthenticated("the dataset service needs `authorization: Bearer <token>`")
            })?;
        self.owners
            .identify(token)
            .map(str::to_owned)
            .ok_or_else(|| Status::unauthenticated("unknown owner token"))
    }

    /// Runs a store call off the async threads (it reads, writes and syncs files).
    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&DatasetStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Status> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || call(&store))
            .await
            .map_err(|e| Status::internal(format!("the store call failed: {e}")))?
            .map_err(|e| status_of(&e))
    }
}

/// The gRPC status of a store refusal.
pub fn status_of(error: &StoreError) -> Status {
    let message = error.to_string();
    match error {
        StoreError::BadName(_)
        | StoreError::Size { .. }
        | StoreError::Digest(_)
        | StoreError::NotAShare { .. }
        | StoreError::WrongParty { .. }
        | StoreError::Union(_) => Status::invalid_argument(message),
        StoreError::Exists(_) => Status::already_exists(message),
        StoreError::NotFound(_) => Status::not_found(message),
        StoreError::NotYours(_) => Status::permission_denied(message),
        StoreError::Offset { .. } => Status::failed_precondition(message),
        StoreError::TooLarge(_) => Status::resource_exhausted(message),
        e if e.is_disk_full() => {
            Status::resource_exhausted(format!("{message} (what arrived is kept: resume later)"))
        }
        StoreError::Meta { .. } | StoreError::Io { .. } | StoreError::File(_) => {
            Status::internal(message)
        }
    }
}

/// A stored dataset as the protocol describes it.
fn info(stored: &Stored) -> DatasetInfo {
    let (channels, height, width) = stored.shape;
    DatasetInfo {
        name: stored.name.clone(),
        id: stored.id.clone(),
        train: stored.train,
        test: stored.test,
        channels,
        height,
        width,
        classes: stored.classes,
        fractional_bits: stored.f,
        bytes: stored.bytes,
        sha256: stored.sha256.to_vec().into(),
        peer_sha256: stored.peer_sha256.to_vec().into(),
    }
}

/// A 32-byte digest field.
fn digest(bytes: &[u8], what: &str) -> Result<[u8; 32], Status> {
    bytes.try_into().map_err(|_| {
        Status::invalid_argument(format!("{what} must be 32 bytes, got {}", bytes.len()))
    })
}

#[tonic::async_trait]
impl Datasets for DatasetService {
    async fn upload(
        &self,
        request: Request<Streaming<UploadChunk>>,
    ) -> Result<Response<Uploaded>, Status> {
        let owner = self.owner(&request)?;
        let mut chunks = request.into_inner();
        let mut name: Option<String> = None;
        let mut held = 0;
        while let Some(chunk) = chunks.message().await? {
            let UploadChunk {
                name: this,
                offset,
                data,
                finish,
            } = chunk;
            match &name {
                None => name = Some(this.clone()),
                Some(first) if *first != this => {
                    return Err(Status::invalid_argument(format!(
                        "one upload per stream: {first:?}, then {this:?}"
                    )));
                }
                Some(_) => {}
            }
            if !data.is_empty() {
                let (owner, this) = (owner.clone(), this.clone());
                held = self
                    .blocking(move |store| store.append(&owner, &this, offset, &data))
                    .await?;
            }
            if let Some(finish) = finish {
                let finish = Finish {
                    size: finish.size,
                    sha256: digest(&finish.sha256, "sha256")?,
                    peer_sha256: digest(&finish.peer_sha256, "peer_sha256")?,
                };
                let owner = owner.clone();
                let stored = self
                    .blocking(move |store| store.finish(&owner, &this, &finish))
                    .await?;
                return Ok(Response::new(Uploaded {
                    dataset: Some(info(&stored)),
                }));
            }
        }
        Err(Status::aborted(match name {
            Some(name) => format!(
                "the upload of {name:?} ended before its last chunk; {held} bytes are held, resume from there"
            ),
            None => "an upload stream without chunks".into(),
        }))
    }

    async fn status(
        &self,
        request: Request<StatusRequest>,
    ) -> Result<Response<UploadStatus>, Status> {
        let owner = self.owner(&request)?;
        let name = request.into_inner().name;
        let received = self
            .blocking(move |store| store.received(&owner, &name))
            .await?;
        Ok(Response::new(UploadStatus { received }))
    }

    async fn list(&self, request: Request<ListRequest>) -> Result<Response<DatasetList>, Status> {
        let owner = self.owner(&request)?;
        let stored = self.blocking(move |store| store.list(&owner)).await?;
        Ok(Response::new(DatasetList {
            datasets: stored.iter().map(info).collect(),
        }))
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> Result<Response<Deleted>, Status> {
        let owner = self.owner(&request)?;
        let name = request.into_inner().name;
        self.blocking(move |store| store.delete(&owner, &name))
            .await?;
        Ok(Response::new(Deleted {}))
    }
}
