//! One party's side of an online computation: its link channel, its randomness source, the
//! configuration both parties agreed on, and the record of consumed randomness.

use dyad_link::{Channel, LinkCounters, PartyId, PartyLink, Terms};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::protocols::{CheckZeroVariant, Comparison, Exp};
use crate::randomness::{Item, Randomness, RecordError, Tags, UseOnce};
use crate::{FixedPoint, Fp, Prime, ProtocolError, Z64, wire};

/// Settings both parties must share.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Config {
    /// The fixed-point format.
    pub fixed: FixedPoint,
    /// Which CheckZero the comparison uses.
    pub checkzero: CheckZeroVariant,
    /// The prime the comparison shares its mask bits in.
    pub prime: Prime,
    /// How softmax computes `e^x`.
    pub exp: Exp,
}

impl Config {
    /// What both parties must run alike, as terms of their agreement.
    pub fn terms(&self) -> Terms {
        Terms::new()
            .term("fixed point", format!("f = {}", self.fixed.f))
            .term("checkzero", self.checkzero)
            .term("comparison prime", self.prime)
            .term("exp", self.exp)
    }

    /// The comparison's settings.
    pub fn comparison(&self) -> Comparison {
        Comparison {
            checkzero: self.checkzero,
            prime: self.prime,
        }
    }
}

/// One party's runtime for the online protocols.
pub struct Party<R> {
    id: PartyId,
    channel: Channel,
    randomness: R,
    config: Config,
    used: UseOnce,
    /// A running digest of every tag consumed, in order. Each message carries it and the
    /// receiver compares: both parties consume the same items in the same order, so a
    /// difference means their stockpiles handed out different items.
    digest: TagDigest,
    /// Public coins both parties draw identically (the paper CheckZero's common shuffle).
    coin: ChaCha20Rng,
    /// This party's private coins (the paper CheckZero's local multipliers and shuffle).
    local: ChaCha20Rng,
}

impl<R: Randomness> Party<R> {
    /// Opens a protocol channel on `link` and checks that the peer uses the same `config`.
    pub async fn new(
        link: &mut PartyLink,
        randomness: R,
        config: Config,
    ) -> Result<Party<R>, ProtocolError> {
        let mut channel = link.channel().await?;
        channel.agree(&config.terms()).await?;
        Ok(Party {
            id: link.party(),
            channel,
            randomness,
            config,
            used: UseOnce::default(),
            digest: TagDigest::default(),
            coin: ChaCha20Rng::from_seed(link.common_seed()),
            local: rand::make_rng(),
        })
    }

    /// This party.
    pub fn id(&self) -> PartyId {
        self.id
    }

    /// The agreed configuration.
    pub fn config(&self) -> Config {
        self.config
    }

    /// The fixed-point format.
    pub fn fixed(&self) -> FixedPoint {
        self.config.fixed
    }

    /// What the link has moved so far (subtract snapshots to cost a protocol).
    pub fn counters(&self) -> LinkCounters {
        self.channel.counters()
    }

    /// Starts recording every message this party receives (its view); see
    /// [`Party::take_view`].
    pub fn record_view(&mut self) {
        self.channel.record_received();
    }

    /// The messages received since [`Party::record_view`], one per flight.
    pub fn take_view(&mut self) -> Vec<Vec<u8>> {
        self.channel.take_received()
    }

    /// This party's share of the public constant `c`: P0 holds `c`, P1 holds 0.
    pub fn constant(&self, c: Z64) -> Z64 {
        match self.id {
            PartyId::P0 => c,
            PartyId::P1 => Z64::ZERO,
        }
    }

    /// This party's share of the public `Z_p` constant `c`.
    pub fn constant_fp(&self, c: Fp) -> Fp {
        match self.id {
            PartyId::P0 => c,
            PartyId::P1 => c.prime().zero(),
        }
    }

    /// The randomness source (for its statistics).
    pub fn randomness(&self) -> &R {
        &self.randomness
    }

    /// The randomness source (tests and benchmarks use it to steer the fixture).
    #[cfg(any(test, feature = "test-fixture"))]
    pub fn randomness_mut(&mut self) -> &mut R {
        &mut self.randomness
    }

    pub(crate) fn coin(&mut self) -> &mut ChaCha20Rng {
        &mut self.coin
    }

    pub(crate) fn local(&mut self) -> &mut ChaCha20Rng {
        &mut self.local
    }

    /// Records the batch's tags as used (refusing reuse), then checks its layout.
    /// `n` items of type `T` and `shape` (for a matrix triple, `n` = 1), checked before use:
    /// tagged for exactly what was asked, never used before (by tag), and of the asked layout.
    pub(crate) async fn take<T: Item>(
        &mut self,
        shape: T::Shape,
        n: usize,
    ) -> Result<T, ProtocolError> {
        let batch = self.randomness.take::<T>(shape, n).await?;
        self.consume(&batch.tags, n as u64)?;
        batch
            .items
            .check(shape, n)
            .map_err(|detail| malformed(&batch.tags, detail))?;
        Ok(batch.items)
    }

    fn consume(&mut self, tags: &Tags, count: u64) -> Result<(), ProtocolError> {
        self.used.consume(tags)?;
        self.digest.add(tags);
        match tags.count() == count {
            true => Ok(()),
            false => Err(malformed(
                tags,
                RecordError::Tagged {
                    tagged: tags.count(),
                    expected: count,
                },
            )),
        }
    }

    /// Exchanges one flight, each side's payload prefixed with its tag digest.
    async fn exchange(&mut self, payload: Vec<u8>) -> Result<Vec<u8>, ProtocolError> {
        let theirs = self.channel.exchange(&self.digest.frame(payload)).await?;
        self.digest.check(theirs)
    }

    /// Sends one flight, prefixed with this party's tag digest.
    async fn send(&mut self, payload: Vec<u8>) -> Result<(), ProtocolError> {
        Ok(self.channel.send(&self.digest.frame(payload)).await?)
    }

    /// Receives one flight and checks the peer's tag digest.
    async fn recv(&mut self) -> Result<Vec<u8>, ProtocolError> {
        let theirs = self.channel.recv().await?;
        self.digest.check(theirs)
    }

    /// Sends this party's shares and returns the peer's, in one round.
    pub(crate) async fn exchange_ring(&mut self, mine: &[Z64]) -> Result<Vec<Z64>, ProtocolError> {
        let theirs = self.exchange(wire::ring_to_bytes(mine)).await?;
        wire::ring_from_bytes(&theirs, mine.len())
    }

    /// Opens shared ring elements to both parties, in one round.
    pub(crate) async fn open_ring(&mut self, mine: &[Z64]) -> Result<Vec<Z64>, ProtocolError> {
        let theirs = self.exchange_ring(mine).await?;
        Ok(mine.iter().zip(theirs).map(|(&a, b)| a + b).collect())
    }

    /// Opens shared `Z_p` elements to both parties, in one round.
    pub(crate) async fn open_fp(&mut self, mine: &[Fp]) -> Result<Vec<Fp>, ProtocolError> {
        let theirs = self.exchange(wire::fp_to_bytes(mine)).await?;
        let theirs = wire::fp_from_bytes(&theirs, mine.len(), self.config.prime)?;
        Ok(mine.iter().zip(theirs).map(|(&a, b)| a + b).collect())
    }

    /// Opens shared ring elements and XOR-shared bits to both parties, in one round.
    pub(crate) async fn open_ring_and_bits(
        &mut self,
        ring: &[Z64],
        bits: &[u8],
    ) -> Result<(Vec<Z64>, Vec<u8>), ProtocolError> {
        let mut out = wire::ring_to_bytes(ring);
        out.extend(wire::bits_to_bytes(bits));
        let theirs = self.exchange(out).await?;
        let (ring_bytes, bit_bytes) = theirs.split_at(theirs.len().min(ring.len() * 8));
        let their_ring = wire::ring_from_bytes(ring_bytes, ring.len())?;
        let their_bits = wire::bits_from_bytes(bit_bytes, bits.len())?;
        Ok((
            ring.iter().zip(their_ring).map(|(&a, b)| a + b).collect(),
            bits.iter().zip(their_bits).map(|(&a, b)| a ^ b).collect(),
        ))
    }

    /// Opens XOR-shared bits to both parties, in one round.
    pub(crate) async fn open_bits(&mut self, mine: &[u8]) -> Result<Vec<u8>, ProtocolError> {
        let theirs = self.exchange(wire::bits_to_bytes(mine)).await?;
        let theirs = wire::bits_from_bytes(&theirs, mine.len())?;
        Ok(mine.iter().zip(theirs).map(|(&a, b)| a ^ b).collect())
    }

    /// Sends `Z_p` elements one way (the peer calls [`Party::recv_fp`]).
    pub(crate) async fn send_fp(&mut self, xs: &[Fp]) -> Result<(), ProtocolError> {
        self.send(wire::fp_to_bytes(xs)).await
    }

    /// Receives exactly `n` `Z_p` elements sent with [`Party::send_fp`].
    pub(crate) async fn recv_fp(&mut self, n: usize) -> Result<Vec<Fp>, ProtocolError> {
        let bytes = self.recv().await?;
        wire::fp_from_bytes(&bytes, n, self.config.prime)
    }
}

/// FNV-1a over the canonical description of every consumed batch, plus the last batch for
/// error messages.
#[derive(Default)]
struct TagDigest {
    hash: u64,
    last: Option<Tags>,
}

impl TagDigest {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn add(&mut self, tags: &Tags) {
        let mut h = if self.last.is_none() {
            Self::OFFSET
        } else {
            self.hash
        };
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h = (h ^ u64::from(b)).wrapping_mul(Self::PRIME);
            }
        };
        eat(tags.kind.to_string().as_bytes());
        for r in &tags.ranges {
            eat(&r.lane.to_le_bytes());
            eat(&r.seqs.start.to_le_bytes());
            eat(&r.seqs.end.to_le_bytes());
        }
        self.hash = h;
        self.last = Some(tags.clone());
    }

    fn frame(&self, payload: Vec<u8>) -> Vec<u8> {
        let mut framed = self.hash.to_le_bytes().to_vec();
        framed.extend_from_slice(&payload);
        framed
    }

    fn check(&self, mut framed: Vec<u8>) -> Result<Vec<u8>, ProtocolError> {
        if framed.len() < 8 {
            return Err(ProtocolError::Peer(
                "a message shorter than its header".into(),
            ));
        }
        let theirs = u64::from_le_bytes(framed[..8].try_into().expect("8 bytes"));
        if theirs != self.hash {
            let last = match &self.last {
                Some(tags) => format!("this party last took {tags}"),
                None => "this party has taken none yet".into(),
            };
            return Err(ProtocolError::Disagreement(last));
        }
        framed.drain(..8);
        Ok(framed)
    }
}

fn malformed(tags: &Tags, detail: RecordError) -> ProtocolError {
    ProtocolError::MalformedRandomness {
        kind: tags.kind.to_string(),
        detail,
    }
}
