//! The `Inference` gRPC service: checks each request, queues it for the evaluation loop and
//! answers with this server's share once the loop has evaluated it.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dyad_online::Z64;
use dyad_proto::inference::inference_server::Inference;
use dyad_proto::inference::{
    DescribeRequest, Failure, ModelInfo, Output as WireOutput, PredictRequest, PredictResponse,
};
use dyad_server::serving::{Answer, Output, Refusal, Requests};
use futures::Stream;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status, Streaming};

use super::metrics::ServeMetrics;

/// Longest request id accepted.
const MAX_ID: usize = 64;

/// Cheap to clone: streams hand a clone to each request they answer.
#[derive(Clone)]
pub struct Service {
    pub info: ModelInfo,
    pub requests: Arc<Requests>,
    /// How long a request may take in all before its caller gets `DEADLINE_EXCEEDED`.
    pub deadline: Duration,
    pub metrics: Arc<ServeMetrics>,
}

impl Service {
    fn input_len(&self) -> usize {
        (self.info.channels * self.info.height * self.info.width) as usize
    }

    /// [`Service::evaluate`], timed and counted.
    async fn answer(&self, request: PredictRequest) -> Result<PredictResponse, Status> {
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
        Refusal::StockpileDry(_) => Status::resource_exhausted(message),
        Refusal::PeerUnreachable(_) | Refusal::ShuttingDown => Status::unavailable(message),
        Refusal::Failed(_) => Status::internal(message),
    }
}

type AnswerStream = Pin<Box<dyn Stream<Item = Result<PredictResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Inference for Service {
    async fn describe(&self, _: Request<DescribeRequest>) -> Result<Response<ModelInfo>, Status> {
        Ok(Response::new(self.info.clone()))
    }

    async fn predict(
        &self,
        request: Request<PredictRequest>,
    ) -> Result<Response<PredictResponse>, Status> {
        Ok(Response::new(self.answer(request.into_inner()).await?))
    }

    type PredictStreamStream = AnswerStream;

    async fn predict_stream(
        &self,
        request: Request<Streaming<PredictRequest>>,
    ) -> Result<Response<AnswerStream>, Status> {
        let mut incoming = request.into_inner();
        let (tx, rx) = mpsc::channel(256);
        let service = self.clone();
        tokio::spawn(async move {
            // Each request is answered on its own, in completion order; a failed one gets its
            // failure and the stream goes on.
            while let Ok(Some(request)) = incoming.message().await {
                let (service, tx) = (service.clone(), tx.clone());
                tokio::spawn(async move {
                    let id = request.request_id.clone();
                    let response = match service.answer(request).await {
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
