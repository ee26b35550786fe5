//! The `Inference` gRPC service in front of the engine: checks each request, queues it for the evaluation loop and
//! answers with this server's share once the loop has evaluated it.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Access, Answer, Output, Refusal, Requests};
use dyad_online::Z64;
use dyad_proto::inference::inference_server::Inference;
use dyad_proto::inference::{
    DescribeRequest, Failure, ModelInfo, Output as WireOutput, PredictRequest, PredictResponse,
};
use futures::Stream;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status, Streaming};

use super::ServeMetrics;

/// Longest request id accepted.
const MAX_ID: usize = 64;

/// Cheap to clone: streams hand a clone to each request they answer.
#[derive(Clone)]
pub struct Service {
    /// What `Describe` answers: the model and this server's place.
    pub info: ModelInfo,
    /// The queue the evaluation loop takes requests from.
    pub requests: Arc<Requests>,
    /// How long a request may take in all before its caller gets `DEADLINE_EXCEEDED`.
    pub deadline: Duration,
    /// Request latencies and outcomes, for the metrics endpoint.
    pub metrics: Arc<ServeMetrics>,
    /// Who may call, and how often.
    pub access: Arc<Access>,
}

impl Service {
    fn input_len(&self) -> usize {
        (self.info.channels * self.info.height * self.info.width) as usize
    }

    /// The calling client, if it may call at all.
    fn caller<T>(&self, request: &Request<T>) -> Result<String, Status> {
        let authorization = request
            .metadata()
            .get("authorization")
            .map(|v| v.as_bytes());
        let peer = request.remote_addr().map(|a| a.ip());
        self.access
            .authenticate(authorization, peer)
            .map_err(|r| self.refused(&r))
    }

    /// A refusal before any work, counted like an answer.
    fn refused(&self, refusal: &Refusal) -> Status {
        let status = status_of(refusal);
        self.metrics.request(Duration::ZERO, status.code());
        status
    }

    /// [`Service::evaluate`] within `client`'s quota, timed and counted.
    async fn answer(
        &self,
        client: &str,
        request: PredictRequest,
    ) -> Result<PredictResponse, Status> {
        // Before the request is queued: a request over quota costs no randomness.
        self.access.admit(client).map_err(|r| self.refused(&r))?;
        let started = Instant::now();
        let answer = self.evaluate(request).await;
        let code = answer
            .as_ref()
            .map_or_else(Status::code, |_| tonic::Code::Ok);
        self.metrics.request(started.elapsed(), code);
        answer
    }

    /// Checks a request and waits for its answer.
    async fn evaluate(&self, request: PredictRequest) -> Result<PredictResponse, Status> {
        let id = request.request_id;
        let valid_id = !id.is_empty()
            && id.len() <= MAX_ID
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !valid_id {
            return Err(Status::invalid_argument(format!(
                "request_id must be 1 to {MAX_ID} characters from [A-Za-z0-9_.-], got {id:?}"
            )));
        }
        let want = self.input_len();
        if request.input_share.len() != want {
            return Err(Status::invalid_argument(format!(
                "request {id}: {} takes {}x{}x{} = {want} input elements, got {}",
                self.info.name,
                self.info.channels,
                self.info.height,
                self.info.width,
                request.input_share.len()
            )));
        }
        let output = match WireOutput::try_from(request.output) {
            Ok(WireOutput::Logits) => Output::Logits,
            Ok(WireOutput::Class) => Output::Class,
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "request {id}: unknown output {}",
                    request.output
                )));
            }
        };
        let input = request.input_share.into_iter().map(Z64).collect();
        let answer = self
            .requests
            .submit(id.clone(), input, output)
            .map_err(|r| status_of(&r))?;
        let (answer, batch) = tokio::time::timeout(self.deadline, answer)
            .await
            .map_err(|_| {
                Status::deadline_exceeded(format!("request {id} was not evaluated in time"))
            })?
            .map_err(|_| status_of(&Refusal::ShuttingDown))?
            .map_err(|r| status_of(&r))?;
        let mut response = PredictResponse {
            request_id: id,
            batch: batch as u32,
            ..Default::default()
        };
        match answer {
            Answer::Logits(share) => response.logits_share = share.iter().map(|z| z.0).collect(),
            Answer::Class(share) => response.class_share = share.0,
        }
        Ok(response)
    }
}

/// The gRPC status a refusal gets: the one place the engine's outcomes meet gRPC.
pub fn status_of(refusal: &Refusal) -> Status {
    let message = refusal.to_string();
    match refusal {
        Refusal::Duplicate(_) => Status::already_exists(message),
        Refusal::NotPaired { .. } => Status::deadline_exceeded(message),
        Refusal::OutputMismatch(_) => Status::invalid_argument(message),
        Refusal::StockpileDry(_) | Refusal::OverQuota { .. } => Status::resource_exhausted(message),
        Refusal::Unauthenticated(_) => Status::unauthenticated(message),
        Refusal::PeerUnreachable(_) | Refusal::ShuttingDown => Status::unavailable(message),
        Refusal::Failed(_) => Status::internal(message),
    }
}

type AnswerStream = Pin<Box<dyn Stream<Item = Result<PredictResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Inference for Service {
    async fn describe(
        &self,
        request: Request<DescribeRequest>,
    ) -> Result<Response<ModelInfo>, Status> {
        self.caller(&request)?;
        Ok(Response::new(self.info.clone()))
    }

    async fn predict(
        &self,
        request: Request<PredictRequest>,
    ) -> Result<Response<PredictResponse>, Status> {
        let client = self.caller(&request)?;
        Ok(Response::new(
            self.answer(&client, request.into_inner()).await?,
        ))
    }

    type PredictStreamStream = AnswerStream;

    async fn predict_stream(
        &self,
        request: Request<Streaming<PredictRequest>>,
    ) -> Result<Response<AnswerStream>, Status> {
        let client = Arc::new(self.caller(&request)?);
        let mut incoming = request.into_inner();
        let (tx, rx) = mpsc::channel(256);
        let service = self.clone();
        tokio::spawn(async move {
            // Each request is answered on its own, in completion order; a failed one gets its
            // failure and the stream goes on.
            while let Ok(Some(request)) = incoming.message().await {
                let (service, tx, client) = (service.clone(), tx.clone(), client.clone());
                tokio::spawn(async move {
                    let id = request.request_id.clone();
                    let response = match service.answer(&client, request).await {
                        Ok(r) => r,
                        Err(status) => PredictResponse {
                            request_id: id,
                            failure: Some(Failure {
                                code: status.code() as i32,
                                message: status.message().to_owned(),
                            }),
                            ..Default::default()
                        },
                    };
                    let _ = tx.send(Ok(response)).await;
                });
            }
        });
        let answers = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|answer| (answer, rx))
        });
        Ok(Response::new(Box::pin(answers)))
    }
}

#[cfg(test)]
mod tests {
    use crate::serving::{Clients, Quota};
    use dyad_proto::inference::inference_client::InferenceClient;
    use dyad_proto::inference::inference_server::InferenceServer;
    use tonic::Code;
    use tonic::transport::{Channel, Server};

    use super::*;

    const ALICE: &str = "0123456789abcdef0123456789abcdef";

    /// The service on a loopback socket, with no evaluation loop behind it: a request that
    /// gets past the checks waits in the queue until its deadline.
    async fn start(access: Access) -> (InferenceClient<Channel>, Arc<Requests>) {
        let requests = Arc::new(Requests::new(Duration::from_secs(60)));
        let service = Service {
            info: ModelInfo {
                name: "tiny".into(),
                channels: 1,
                height: 2,
                width: 2,
                classes: 2,
                fractional_bits: 16,
                party: 0,
                max_batch: 1,
            },
            requests: requests.clone(),
            deadline: Duration::from_millis(200),
            metrics: Arc::new(ServeMetrics::default()),
            access: Arc::new(access),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(
            Server::builder()
                .add_service(InferenceServer::new(service))
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        let client = InferenceClient::connect(format!("http://{addr}"))
            .await
            .expect("connects");
        (client, requests)
    }

    fn request(id: &str, token: Option<&str>) -> Request<PredictRequest> {
        let mut request = Request::new(PredictRequest {
            request_id: id.into(),
            input_share: vec![0; 4],
            output: WireOutput::Logits as i32,
        });
        if let Some(t) = token {
            let value = format!("Bearer {t}").parse().expect("ASCII");
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    #[tokio::test]
    async fn unlisted_clients_are_refused_and_queue_nothing() {
        let clients = Clients::parse(&format!("alice {ALICE}")).expect("list");
        let (mut client, requests) = start(Access {
            clients: Some(clients),
            quota: None,
        })
        .await;
        for token in [None, Some("not-a-token-of-anyone-at-all-0000000")] {
            let err = client
                .predict(request("r1", token))
                .await
                .expect_err("refused");
            assert_eq!(err.code(), Code::Unauthenticated, "{}", err.message());
            let mut describe = Request::new(DescribeRequest {});
            if let Some(t) = token {
                let value = format!("Bearer {t}").parse().expect("ASCII");
                describe.metadata_mut().insert("authorization", value);
            }
            let err = client.describe(describe).await.expect_err("refused");
            assert_eq!(err.code(), Code::Unauthenticated);
            let stream = futures::stream::iter(vec![request("r2", None).into_inner()]);
            let err = client.predict_stream(stream).await.expect_err("refused");
            assert_eq!(err.code(), Code::Unauthenticated);
        }
        assert!(requests.oldest(10).is_empty(), "nothing was queued");
        // Alice gets in: her request is queued and, with no other server, times out.
        let err = client
            .predict(request("r3", Some(ALICE)))
            .await
            .expect_err("no pair");
        assert_eq!(err.code(), Code::DeadlineExceeded, "{}", err.message());
        assert_eq!(requests.oldest(10).len(), 1);
    }

    #[tokio::test]
    async fn a_client_over_its_quota_is_refused_before_its_request_is_queued() {
        let (mut client, requests) = start(Access {
            clients: None,
            quota: Some(Quota::new(2)),
        })
        .await;
        for id in ["q1", "q2"] {
            let err = client
                .predict(request(id, None))
                .await
                .expect_err("no pair");
            assert_eq!(err.code(), Code::DeadlineExceeded, "{}", err.message());
        }
        let err = client
            .predict(request("q3", None))
            .await
            .expect_err("over quota");
        assert_eq!(err.code(), Code::ResourceExhausted);
        assert!(err.message().contains("quota of 2"), "{}", err.message());
        assert_eq!(requests.oldest(10).len(), 2, "q3 was never queued");
        // Within a stream, each request counts: the refusal comes back as that request's
        // failure and the stream goes on.
        let stream = futures::stream::iter(vec![request("q4", None).into_inner()]);
        let mut answers = client
            .predict_stream(stream)
            .await
            .expect("opens")
            .into_inner();
        let answer = answers.message().await.expect("answer").expect("one");
        let failure = answer.failure.expect("refused");
        assert_eq!(failure.code, Code::ResourceExhausted as i32);
    }
}
