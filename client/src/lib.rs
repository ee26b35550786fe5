//! Client of a Dyad secure-inference deployment.
//!
//! The client holds an input; two non-colluding servers hold shares of a model. [`Client`]
//! encodes the input in the servers' fixed-point format, splits it into two additive shares
//! modulo 2^64 with fresh randomness, sends one share to each server over TLS under one
//! request id, and adds the two answers. Each server sees a uniformly random vector; the
//! client learns the logits (or only the class) and nothing else about the model.
//!
//! [`owner::Owner`] is a data owner's side: it uploads the two shares of a dataset, one to
//! each server, for training jobs to take by name.
//!
//! This crate needs only the `.proto` files' generated code, not the MPC runtime; a client in
//! another language does the same with `proto/dyad/inference/v1/inference.proto`.

pub mod load;
pub mod owner;

use std::time::Duration;

use dyad_proto::inference::inference_client::InferenceClient;
use dyad_proto::inference::{DescribeRequest, ModelInfo, Output, PredictRequest, PredictResponse};
use dyad_vocabulary::fixed::EncodeError;
use dyad_vocabulary::{FixedPoint, Z64};
use rand::{Rng, RngExt};
use rand_chacha::ChaCha20Rng;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

/// How to reach one server.
#[derive(Debug, Clone)]
pub struct Server {
    /// `host:port` of its client endpoint.
    pub addr: String,
    /// The certificate to trust for it (PEM): its own self-signed certificate, or a CA's.
    pub cert_pem: Vec<u8>,
    /// The name its certificate carries (`dyad-p0`, `dyad-p1` for `dyad certs` certificates).
    pub name: String,
    /// The token this server knows the client by, sent as `authorization: Bearer <token>`
    /// (for servers run with `--client-tokens`; each server keeps its own list).
    pub token: Option<String>,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A server could not be reached or refused the TLS handshake.
    #[error("cannot connect to server {server} at {addr}: {detail}")]
    Connect {
        /// 0 or 1.
        server: usize,
        /// Its address.
        addr: String,
        /// What failed.
        detail: String,
    },
    /// The two servers do not serve the same model, or are not servers 0 and 1.
    #[error("the servers do not form a pair: {0}")]
    Mismatch(String),
    /// The input does not fit the model.
    #[error("{0}")]
    Input(String),
    /// An input value the servers' fixed point must not take: beyond the operand limit that
    /// keeps their truncations exact, or not a number.
    #[error("input value {index}: {refusal}")]
    Encode {
        /// Its position in the input.
        index: usize,
        /// Why, naming the value and the limit.
        refusal: EncodeError,
    },
    /// A server answered with an error.
    #[error("server {server}: {status}")]
    Server {
        /// 0 or 1.
        server: usize,
        /// Its answer.
        status: tonic::Status,
    },
    /// The two answers do not belong together.
    #[error("the servers' answers do not match: {0}")]
    Answers(String),
}

/// A reconstructed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// The logits, decoded from fixed point.
    Logits(Vec<f64>),
    /// Only the class index.
    Class(usize),
}

impl Prediction {
    /// The predicted class (the first largest logit).
    pub fn class(&self) -> usize {
        match self {
            Prediction::Class(c) => *c,
            Prediction::Logits(l) => (0..l.len()).fold(0, |best, j| match l[j] > l[best] {
                true => j,
                false => best,
            }),
        }
    }
}

/// A connection to both servers.
pub struct Client {
    servers: [InferenceClient<Channel>; 2],
    /// Each server's `authorization` header, if it wants one.
    authorization: [Option<MetadataValue<Ascii>>; 2],
    info: ModelInfo,
    rng: ChaCha20Rng,
}

impl Client {
    /// Connects to servers 0 and 1 and checks that they serve the same model.
    pub async fn connect(servers: [Server; 2], timeout: Duration) -> Result<Client, ClientError> {
        let mut clients = Vec::new();
        let mut infos = Vec::new();
        let authorization = [
            authorization(0, &servers[0])?,
            authorization(1, &servers[1])?,
        ];
        for (i, s) in servers.iter().enumerate() {
            let channel = channel(i, s, timeout).await?;
            let mut client = InferenceClient::new(channel);
            let info = client
                .describe(authorized(DescribeRequest {}, &authorization[i]))
                .await
                .map_err(|status| ClientError::Server { server: i, status })?
                .into_inner();
            clients.push(client);
            infos.push(info);
        }
        let (a, b) = (&infos[0], &infos[1]);
        if (a.party, b.party) != (0, 1) {
            return Err(ClientError::Mismatch(format!(
                "expected servers 0 and 1, got {} and {}",
                a.party, b.party
            )));
        }
        let model = |i: &ModelInfo| {
            (
                i.name.clone(),
                i.channels,
                i.height,
                i.width,
                i.classes,
                i.fractional_bits,
            )
        };
        if model(a) != model(b) {
            return Err(ClientError::Mismatch(format!(
                "server 0 serves {:?}, server 1 {:?}",
                model(a),
                model(b)
            )));
        }
        let info = infos.swap_remove(0);
        let servers: [InferenceClient<Channel>; 2] = clients
            .try_into()
            .unwrap_or_else(|_| unreachable!("two servers"));
        Ok(Client {
            servers,
            authorization,
            info,
            rng: rand::make_rng(),
        })
    }

    /// The served model.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The number of input values the model takes.
    pub fn input_len(&self) -> usize {
        (self.info.channels * self.info.height * self.info.width) as usize
    }

    /// Predicts on one input (`channels x height x width` values, row-major).
    pub async fn predict(
        &mut self,
        input: &[f64],
        output: Output,
    ) -> Result<Prediction, ClientError> {
        if input.len() != self.input_len() {
            return Err(ClientError::Input(format!(
                "{} takes {} input values, got {}",
                self.info.name,
                self.input_len(),
                input.len()
            )));
        }
        let f = self.info.fractional_bits;
        let [x0, x1] = share(input, f, &mut self.rng)?;
        let id = request_id(&mut self.rng);
        let request = |i: usize, input_share| {
            let message = PredictRequest {
                request_id: id.clone(),
                input_share,
                output: output as i32,
            };
            authorized(message, &self.authorization[i])
        };
        let (r0, r1) = (request(0, x0), request(1, x1));
        let [c0, c1] = &mut self.servers;
        let (a, b) = tokio::join!(c0.predict(r0), c1.predict(r1));
        let a = a.map_err(|status| ClientError::Server { server: 0, status })?;
        let b = b.map_err(|status| ClientError::Server { server: 1, status })?;
        reconstruct(&a.into_inner(), &b.into_inner(), output, f)
    }
}

/// Server `index`'s `authorization` header: `Bearer <token>`, if it has a token.
fn authorization(index: usize, s: &Server) -> Result<Option<MetadataValue<Ascii>>, ClientError> {
    s.token
        .as_ref()
        .map(|t| {
            format!("Bearer {t}").parse().map_err(|_| {
                ClientError::Input(format!(
                    "server {index}'s client token must be printable ASCII"
                ))
            })
        })
        .transpose()
}

/// `message` with the `authorization` header, if there is one.
fn authorized<T>(message: T, authorization: &Option<MetadataValue<Ascii>>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(value) = authorization {
        request
            .metadata_mut()
            .insert("authorization", value.clone());
    }
    request
}

/// A TLS channel to server `index` (for callers that build their own requests).
pub async fn channel(index: usize, s: &Server, timeout: Duration) -> Result<Channel, ClientError> {
    let fail = |detail: String| ClientError::Connect {
        server: index,
        addr: s.addr.clone(),
        detail,
    };
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&s.cert_pem))
        .domain_name(&s.name);
    Endpoint::from_shared(format!("https://{}", s.addr))
        .map_err(|e| fail(e.to_string()))?
        .tls_config(tls)
        .map_err(|e| fail(e.to_string()))?
        .connect_timeout(timeout)
        .timeout(timeout)
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|e| fail(source_chain(&e)))
}

/// The additive shares of `input` in fixed point with `f` fractional bits, encoded by the
/// servers' own encoder (`dyad_vocabulary::FixedPoint::encode_operand`: round to nearest,
/// refusing values beyond the operand limit `2^(24 - f)`, 256 at `f = 16`, which keeps the
/// servers' truncations inside their window; PROTOCOLS.md, "Accepted departures").
pub fn share(input: &[f64], f: u32, rng: &mut impl Rng) -> Result<[Vec<u64>; 2], ClientError> {
    let fixed = FixedPoint::new(f).ok_or_else(|| {
        ClientError::Input(format!("{f} fractional bits is no fixed-point format"))
    })?;
    let mut x0 = Vec::with_capacity(input.len());
    let mut x1 = Vec::with_capacity(input.len());
    for (index, &v) in input.iter().enumerate() {
        let x = fixed
            .encode_operand(v)
            .map_err(|refusal| ClientError::Encode { index, refusal })?;
        let r: u64 = rng.random();
        x0.push(r);
        x1.push(x.0.wrapping_sub(r));
    }
    Ok([x0, x1])
}

/// A fresh request id: 32 random hex digits.
pub fn request_id(rng: &mut impl Rng) -> String {
    format!("{:032x}", rng.random::<u128>())
}

/// Adds the two servers' answers.
pub fn reconstruct(
    a: &PredictResponse,
    b: &PredictResponse,
    output: Output,
    f: u32,
) -> Result<Prediction, ClientError> {
    if a.request_id != b.request_id {
        return Err(ClientError::Answers(format!(
            "request ids {} and {}",
            a.request_id, b.request_id
        )));
    }
    match output {
        Output::Logits => {
            if a.logits_share.len() != b.logits_share.len() || a.logits_share.is_empty() {
                return Err(ClientError::Answers("logit counts differ".into()));
            }
            let fixed = FixedPoint::new(f).ok_or_else(|| {
                ClientError::Answers(format!("{f} fractional bits is no fixed-point format"))
            })?;
            Ok(Prediction::Logits(
                a.logits_share
                    .iter()
                    .zip(&b.logits_share)
                    .map(|(x, y)| fixed.decode(Z64(x.wrapping_add(*y))))
                    .collect(),
            ))
        }
        Output::Class => Ok(Prediction::Class(
            a.class_share.wrapping_add(b.class_share) as usize
        )),
    }
}

/// An error with its causes, for messages (tonic's transport errors hide the cause).
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text += &format!(": {s}");
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_client_encodes_as_the_servers_do() {
        // The servers' encoder, shared: the same values and the same operand limit.
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let fixed = FixedPoint::default();
        for v in [0.0, -1.0, 1e-6, 3.25, 255.0, -256.0] {
            let [a, b] = share(&[v], fixed.f, &mut rng).expect("in range");
            assert_eq!(
                Ok(Z64(a[0].wrapping_add(b[0]))),
                fixed.encode_operand(v),
                "{v}"
            );
        }
        assert!(share(&[1.0], 64, &mut rng).is_err());
    }

    #[test]
    fn a_value_just_beyond_the_operand_limit_is_refused_by_position_value_and_limit() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for fixed in [FixedPoint::default(), FixedPoint { f: 20 }] {
            let limit = fixed.operand_limit();
            let inside = [0.5, limit, -limit];
            let [a, b] = share(&inside, fixed.f, &mut rng).expect("just inside");
            let back: Vec<f64> = a
                .iter()
                .zip(&b)
                .map(|(x, y)| fixed.decode(Z64(x.wrapping_add(*y))))
                .collect();
            assert_eq!(back, inside);
            let beyond = limit + fixed.ulp();
            let err = share(&[0.5, -beyond], fixed.f, &mut rng).expect_err("just beyond");
            assert!(matches!(err, ClientError::Encode { index: 1, .. }), "{err}");
            let text = err.to_string();
            assert!(
                text.contains(&(-beyond).to_string()) && text.contains(&format!("±{limit}")),
                "{text}"
            );
        }
    }

    #[test]
    fn shares_reconstruct_the_fixed_point_input_and_each_looks_random() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let input = [0.0, 1.0, -1.5, 0.123];
        let [x0, x1] = share(&input, 16, &mut rng).expect("in range");
        let back: Vec<f64> = x0
            .iter()
            .zip(&x1)
            .map(|(a, b)| a.wrapping_add(*b) as i64 as f64 / 65536.0)
            .collect();
        for (v, w) in input.iter().zip(back) {
            assert!((v - w).abs() <= 0.5 / 65536.0, "{v} vs {w}");
        }
        // The same input shared twice gives unrelated shares.
        let [y0, _] = share(&input, 16, &mut rng).expect("in range");
        assert!(x0.iter().zip(&y0).all(|(a, b)| a != b));
        assert!(share(&[1e30], 16, &mut rng).is_err());
        assert!(share(&[f64::NAN], 16, &mut rng).is_err());
    }

    #[test]
    fn answers_reconstruct_and_mismatches_are_refused() {
        let response = |id: &str, logits: Vec<u64>, class: u64| PredictResponse {
            request_id: id.into(),
            logits_share: logits,
            class_share: class,
            ..Default::default()
        };
        let two = 2u64 << 16;
        let a = response("r", vec![5, two.wrapping_add(7)], 3u64.wrapping_sub(9));
        let b = response("r", vec![5u64.wrapping_neg(), 7u64.wrapping_neg()], 9);
        assert_eq!(
            reconstruct(&a, &b, Output::Logits, 16).expect("pairs"),
            Prediction::Logits(vec![0.0, 2.0])
        );
        assert_eq!(
            reconstruct(&a, &b, Output::Class, 16).expect("pairs"),
            Prediction::Class(3)
        );
        assert_eq!(Prediction::Logits(vec![0.5, 2.0, 2.0]).class(), 1);
        let other = response("s", vec![0, 0], 0);
        assert!(reconstruct(&a, &other, Output::Logits, 16).is_err());
    }
}
