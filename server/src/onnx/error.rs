//! Why an ONNX file was refused: each cause as a type where one exists, and otherwise what in
//! the graph is wrong, naming the node.

use dyad_online::nn::window::WindowError;
use dyad_vocabulary::fixed::EncodeError;

/// An ONNX model Dyad cannot import.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The bytes are not an ONNX protobuf.
    #[error("not an ONNX model (protobuf): {0}")]
    Decode(#[from] prost::DecodeError),
    /// The graph uses operators Dyad does not import.
    #[error(
        "unsupported ONNX operators: {}; Dyad imports {} ({} are passed over)",
        .found.join(", "), .supported.join(", "), .passed_over.join(", ")
    )]
    Unsupported {
        /// The operators found that are not supported, each with the first node using it.
        found: Vec<String>,
        /// The operators Dyad imports.
        supported: &'static [&'static str],
        /// The operators it passes over.
        passed_over: &'static [&'static str],
    },
    /// A weight or bias that fixed point cannot hold as an operand.
    #[error(
        "layer {layer} has the {what} {value}, which fixed point with {f} fractional bits cannot \
         hold as an operand: {source}"
    )]
    Operand {
        /// The layer (from 1).
        layer: usize,
        /// "weight" or "bias".
        what: &'static str,
        /// The value.
        value: f64,
        /// The fixed point's fractional bits.
        f: u32,
        /// Why it cannot.
        #[source]
        source: EncodeError,
    },
    /// Weights that could take a product out of the truncation window.
    #[error(transparent)]
    Window(#[from] WindowError),
    /// The graph's structure, a node or a tensor is not what Dyad imports.
    #[error("{0}")]
    Graph(String),
    /// A layer does not fit the shape before it.
    #[error(transparent)]
    Shape(#[from] dyad_online::ModelError),
}

/// Refuses the graph with a message (formatted as by `format!`).
macro_rules! refuse {
    ($($message:tt)*) => {
        return Err($crate::onnx::ImportError::Graph(format!($($message)*)))
    };
}

/// Refuses the graph with a message unless `condition` holds.
macro_rules! require {
    ($condition:expr, $($message:tt)*) => {
        if !$condition {
            refuse!($($message)*);
        }
    };
}

pub(crate) use {refuse, require};
