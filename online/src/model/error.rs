//! Why a network description, its parameters or its demand cannot be had.

use crate::ProtocolError;

/// A network that cannot be read, laid out or tallied.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A convolution's kernel is larger than its (padded) input.
    #[error("a {kernel}x{kernel} kernel does not fit {height}x{width}")]
    KernelDoesNotFit {
        /// The kernel's side.
        kernel: usize,
        /// The padded input's height.
        height: usize,
        /// The padded input's width.
        width: usize,
    },
    /// Max pooling with so much padding that a window could hold none of its input.
    #[error(
        "max pooling pads {padding} on each side of {kernel}x{kernel} windows: the padding must be smaller than the window"
    )]
    PoolPadding {
        /// The window's side.
        kernel: usize,
        /// The padding on each side.
        padding: usize,
    },
    /// A layer does not fit the shape before it.
    #[error("layer {layer}: {cause}")]
    Layer {
        /// The layer's number, from 1.
        layer: usize,
        /// Why it does not fit.
        #[source]
        cause: Box<ModelError>,
    },
    /// A layer reads a value that is not before it.
    #[error("reads the output of layer {from}, which is not an earlier layer")]
    NotEarlier {
        /// The value it reads.
        from: usize,
    },
    /// An `add` of two values of different shapes.
    #[error("adds the output of layer {from}, of shape {other:?}, to a value of shape {shape:?}")]
    AddShapes {
        /// The value added.
        from: usize,
        /// The previous layer's output shape (channels, height, width).
        shape: (usize, usize, usize),
        /// The added value's shape.
        other: (usize, usize, usize),
    },
    /// The last layer's output is not a vector.
    #[error("the network must end in a vector of class scores")]
    NoClassScores,
    /// A line of a description is malformed.
    #[error("line {line}: {what}: {text:?}")]
    Line {
        /// The line's number, from 1.
        line: usize,
        /// What is wrong with it.
        what: &'static str,
        /// The line.
        text: String,
    },
    /// A description without its first line.
    #[error("the description has no `input C H W` line")]
    NoInput,
    /// A training batch whose average is no shift.
    #[error("the batch size must be a power of two, got {0}")]
    BatchNotPowerOfTwo(usize),
    /// Running the network on a tally failed (shapes the protocols refuse); boxed, as the
    /// protocols' error is large and this one travels inside file errors.
    #[error(transparent)]
    Tally(Box<ProtocolError>),
}

impl From<ProtocolError> for ModelError {
    fn from(error: ProtocolError) -> Self {
        ModelError::Tally(Box::new(error))
    }
}

/// A parameter file that does not belong to its network.
#[derive(Debug, thiserror::Error)]
pub enum ParamsFileError {
    /// The network itself is malformed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The bytes are not that network's parameters.
    #[error("not a parameter file for {network}: {what}")]
    Foreign {
        /// The network's name.
        network: String,
        /// What gives it away.
        what: String,
    },
}
