//! A client of one stockpile: the gRPC stub with the token attached and errors typed.

use std::time::Duration;

use bytes::Bytes;
use dyad_proto::stockpile as pb;
use dyad_proto::stockpile::stockpile_client::StockpileClient;
use dyad_vocabulary::TagRange;
use tonic::Status;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::token::AddToken;
use crate::{MAX_MESSAGE_BYTES, StoreClientError};

const MAX_GRPC_MESSAGE: usize = (MAX_MESSAGE_BYTES + (1 << 20)) as usize;

/// A connection to a stockpile. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct StoreClient {
    inner: StockpileClient<InterceptedService<Channel, AddToken>>,
    addr: String,
}

/// Items handed out by a Take.
#[derive(Debug)]
pub struct Taken {
    /// Acknowledge with [`StoreClient::ack`].
    pub lease: u64,
    /// Size of one record.
    pub item_bytes: u32,
    /// The items' tags, in payload order.
    pub ranges: Vec<TagRange>,
    /// The records.
    pub payload: Bytes,
}

fn ranges_to_pb(ranges: &[TagRange]) -> Vec<pb::ItemRange> {
    ranges
        .iter()
        .map(|r| pb::ItemRange {
            lane: r.lane,
            first: r.seqs.start,
            count: r.count(),
        })
        .collect()
}

impl StoreClient {
    /// Connects to the stockpile at `addr` (`host:port` or a URL) with `token`.
    pub async fn connect(addr: &str, token: &str) -> Result<StoreClient, StoreClientError> {
        let url = if addr.contains("://") {
            addr.to_owned()
        } else {
            format!("http://{addr}")
        };
        let endpoint = Endpoint::from_shared(url)
            .map_err(|source| StoreClientError::Address {
                addr: addr.to_owned(),
                source,
            })?
            .connect_timeout(Duration::from_secs(10))
            .tcp_nodelay(true)
            .initial_stream_window_size(Some(16 << 20))
            .initial_connection_window_size(Some(32 << 20));
        let channel = endpoint
            .connect()
            .await
            .map_err(|source| StoreClientError::Unreachable {
                addr: addr.to_owned(),
                source,
            })?;
        let inner = StockpileClient::with_interceptor(channel, AddToken::new(token)?)
            .max_decoding_message_size(MAX_GRPC_MESSAGE)
            .max_encoding_message_size(MAX_GRPC_MESSAGE);
        Ok(StoreClient {
            inner,
            addr: addr.to_owned(),
        })
    }

    /// The address this client talks to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Puts a batch of consecutive items of `lane`.
    pub async fn put(
        &mut self,
        stream: &str,
        lane: u32,
        first: u64,
        payload: Bytes,
    ) -> Result<pb::PutReply, StoreClientError> {
        let request = pb::PutRequest {
            stream: stream.to_owned(),
            lane,
            first,
            payload,
        };
        let reply = self.inner.put(request).await;
        Ok(self.answer(reply)?.into_inner())
    }

    /// Takes `count` items, waiting up to `wait` for them.
    pub async fn take(
        &mut self,
        stream: &str,
        count: u64,
        wait: Duration,
    ) -> Result<Taken, StoreClientError> {
        self.take_up_to(stream, count, count, wait).await
    }

    /// Takes at least `at_least` and, if available, up to `at_most` items, waiting up to
    /// `wait` for `at_least`.
    pub async fn take_up_to(
        &mut self,
        stream: &str,
        at_least: u64,
        at_most: u64,
        wait: Duration,
    ) -> Result<Taken, StoreClientError> {
        let request = pb::TakeRequest {
            stream: stream.to_owned(),
            count: at_most,
            at_least,
            wait_ms: wait_ms(wait),
        };
        let reply = self.inner.take(request).await;
        taken(&self.addr, self.answer(reply)?.into_inner())
    }

    /// Takes exactly the named items, waiting up to `wait` for them.
    pub async fn take_exact(
        &mut self,
        stream: &str,
        ranges: &[TagRange],
        wait: Duration,
    ) -> Result<Taken, StoreClientError> {
        let request = pb::TakeExactRequest {
            stream: stream.to_owned(),
            ranges: ranges_to_pb(ranges),
            wait_ms: wait_ms(wait),
        };
        let reply = self.inner.take_exact(request).await;
        taken(&self.addr, self.answer(reply)?.into_inner())
    }

    /// Confirms a Take's reply arrived.
    pub async fn ack(&mut self, lease: u64) -> Result<(), StoreClientError> {
        let reply = self.inner.ack(pb::AckRequest { lease }).await;
        self.answer(reply)?;
        Ok(())
    }

    /// The stockpile's inventory.
    pub async fn inventory(&mut self) -> Result<pb::InventoryReply, StoreClientError> {
        let reply = self.inner.inventory(pb::InventoryRequest {}).await;
        Ok(self.answer(reply)?.into_inner())
    }

    /// A lane's `next` and lowest available item.
    pub async fn lane_status(
        &mut self,
        stream: &str,
        lane: u32,
    ) -> Result<pb::LaneStatusReply, StoreClientError> {
        let request = pb::LaneStatusRequest {
            stream: stream.to_owned(),
            lane,
        };
        let reply = self.inner.lane_status(request).await;
        Ok(self.answer(reply)?.into_inner())
    }

    /// Discards a lane's untaken items from `keep_below` on and advances its `next`.
    pub async fn align(
        &mut self,
        stream: &str,
        lane: u32,
        keep_below: u64,
        next: u64,
    ) -> Result<pb::AlignReply, StoreClientError> {
        let request = pb::AlignRequest {
            stream: stream.to_owned(),
            lane,
            keep_below,
            next,
        };
        let reply = self.inner.align(request).await;
        Ok(self.answer(reply)?.into_inner())
    }
}

impl StoreClient {
    /// A call's reply, its failure typed with this stockpile's address.
    fn answer<T>(&self, reply: Result<T, Status>) -> Result<T, StoreClientError> {
        reply.map_err(|status| StoreClientError::Call {
            addr: self.addr.clone(),
            status,
        })
    }
}

fn wait_ms(wait: Duration) -> u32 {
    u32::try_from(wait.as_millis()).unwrap_or(u32::MAX)
}

/// A Take's reply, refused if it names items past the end of the numbering.
fn taken(addr: &str, reply: pb::TakeReply) -> Result<Taken, StoreClientError> {
    let ranges = reply
        .ranges
        .iter()
        .map(|r| {
            r.first
                .checked_add(r.count)
                .map(|_| TagRange::new(r.lane, r.first, r.count))
        })
        .collect::<Option<Vec<TagRange>>>()
        .ok_or_else(|| StoreClientError::BadReply {
            addr: addr.to_owned(),
            what: "a range past the last sequence number",
        })?;
    Ok(Taken {
        lease: reply.lease,
        item_bytes: reply.item_bytes,
        ranges,
        payload: reply.payload,
    })
}
