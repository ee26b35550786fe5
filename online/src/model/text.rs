//! Networks as text, read and written. The format has one layer per line after an `input C H W` line (`#` starts a comment):
//!
//! ```text
//! input 1 28 28
//! conv 16 5            # out-channels, kernel; optional stride=S padding=P
//! relu
//! maxpool              # 2x2, stride 2; `maxpool K` optional stride=S (K) padding=P (0)
//! flatten
//! dense 100            # outputs
//! relu
//! ```
//!
//! Layers are numbered from 1 in order (0 is the input). Graphs, such as residual blocks, read
//! earlier values by number: `take K` continues from layer `K`'s output (a branch), and
//! `add K` adds layer `K`'s output to the previous one. `globalavgpool` averages each
//! channel, `avgpool K` each `K x K` window (optional `stride=S`, `K` by default):
//!
//! ```text
//! input 1 8 8
//! conv 4 3 padding=1   # 1
//! relu                 # 2
//! conv 4 3 padding=1   # 3
//! add 2                # 4: a residual connection around layer 3
//! relu                 # 5
//! take 2               # 6: a branch from layer 2's output
//! conv 4 1             # 7
//! add 5                # 8
//! globalavgpool        # 9
//! flatten
//! dense 10
//! ```

use std::fmt;

use super::{Layer, ModelError, Network, Shape};

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# {}", self.name)?;
        writeln!(
            f,
            "input {} {} {}",
            self.input.channels, self.input.height, self.input.width
        )?;
        for layer in &self.layers {
            match layer {
                Layer::Dense { outputs } => writeln!(f, "dense {outputs}")?,
                Layer::Conv {
                    channels,
                    kernel,
                    stride,
                    padding,
                } => writeln!(
                    f,
                    "conv {channels} {kernel} stride={stride} padding={padding}"
                )?,
                Layer::Relu => writeln!(f, "relu")?,
                &Layer::MAXPOOL_2X2 => writeln!(f, "maxpool")?,
                Layer::MaxPool {
                    kernel,
                    stride,
                    padding,
                } => writeln!(f, "maxpool {kernel} stride={stride} padding={padding}")?,
                Layer::Flatten => writeln!(f, "flatten")?,
                Layer::GlobalAvgPool => writeln!(f, "globalavgpool")?,
                Layer::AvgPool { kernel, stride } => {
                    writeln!(f, "avgpool {kernel} stride={stride}")?
                }
                Layer::Take { from } => writeln!(f, "take {from}")?,
                Layer::Add { from } => writeln!(f, "add {from}")?,
            }
        }
        Ok(())
    }
}

impl Network {
    /// Reads the text format (see the module documentation).
    pub fn parse(name: &str, text: &str) -> Result<Network, ModelError> {
        let mut input = None;
        let mut layers = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |what: &'static str| ModelError::Line {
                line: number + 1,
                what,
                text: line.to_owned(),
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            let num = |s: &str| {
                s.parse::<usize>()
                    .ok()
                    .filter(|&v| v > 0)
                    .ok_or_else(|| bad("expected a positive number"))
            };
            match words[0] {
                "input" if words.len() == 4 && input.is_none() => {
                    input = Some(Shape {
                        channels: num(words[1])?,
                        height: num(words[2])?,
                        width: num(words[3])?,
                    });
                }
                _ if input.is_none() => return Err(bad("the first line must be `input C H W`")),
                "dense" if words.len() == 2 => layers.push(Layer::Dense {
                    outputs: num(words[1])?,
                }),
                "conv" if words.len() >= 3 => {
                    let (mut stride, mut padding) = (1, 0);
                    for option in &words[3..] {
                        match option.split_once('=') {
                            Some(("stride", v)) => stride = num(v)?,
                            Some(("padding", v)) => {
                                padding = v.parse().map_err(|_| bad("bad padding"))?
                            }
                            _ => return Err(bad("unknown conv option")),
                        }
                    }
                    layers.push(Layer::Conv {
                        channels: num(words[1])?,
                        kernel: num(words[2])?,
                        stride,
                        padding,
                    });
                }
                "relu" if words.len() == 1 => layers.push(Layer::Relu),
                "maxpool" if words.len() == 1 => layers.push(Layer::MAXPOOL_2X2),
                "maxpool" => {
                    let kernel = num(words[1])?;
                    let (mut stride, mut padding) = (kernel, 0);
                    for option in &words[2..] {
                        match option.split_once('=') {
                            Some(("stride", v)) => stride = num(v)?,
                            Some(("padding", v)) => {
                                padding = v.parse().map_err(|_| bad("bad padding"))?
                            }
                            _ => return Err(bad("unknown maxpool option")),
                        }
                    }
                    layers.push(Layer::MaxPool {
                        kernel,
                        stride,
                        padding,
                    });
                }
                "flatten" if words.len() == 1 => layers.push(Layer::Flatten),
                "globalavgpool" if words.len() == 1 => layers.push(Layer::GlobalAvgPool),
                "avgpool" if (2..=3).contains(&words.len()) => {
                    let kernel = num(words[1])?;
                    let stride = match words.get(2).map(|w| w.split_once('=')) {
                        None => kernel,
                        Some(Some(("stride", v))) => num(v)?,
                        _ => return Err(bad("unknown avgpool option")),
                    };
                    layers.push(Layer::AvgPool { kernel, stride });
                }
                "take" | "add" if words.len() == 2 => {
                    let from = words[1]
                        .parse::<usize>()
                        .map_err(|_| bad("expected a layer number (0 is the input)"))?;
                    layers.push(match words[0] {
                        "take" => Layer::Take { from },
                        _ => Layer::Add { from },
                    });
                }
                _ => return Err(bad("unknown layer")),
            }
        }
        let input = input.ok_or(ModelError::NoInput)?;
        let network = Network {
            name: name.to_owned(),
            input,
            layers,
        };
        network.shapes()?;
        Ok(network)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's residual description (`data/models/resnet-digits.txt`, what the demo
    /// trains in `docs/results/resnet-serving.md`) reads and lays out.
    #[test]
    fn the_bundled_residual_description_reads() {
        let text = include_str!("../../../data/models/resnet-digits.txt");
        let net = Network::parse("resnet-digits", text).expect("parses");
        assert_eq!(net.classes(), 10);
        assert!(net.layers.contains(&Layer::Take { from: 7 }));
    }

    /// The repository's small convolutional description (`data/models/small-cnn.txt`, the
    /// convolutional optimizer run of `docs/results/optimizers.md`) reads and lays out.
    #[test]
    fn the_bundled_small_convolutional_description_reads() {
        let text = include_str!("../../../data/models/small-cnn.txt");
        let net = Network::parse("small-cnn", text).expect("parses");
        assert_eq!(net.classes(), 10);
        assert_eq!(net.shapes().expect("fits").len(), net.layers.len());
    }

    /// The module documentation's example: a residual block and a branch.
    #[test]
    fn a_graph_reads_its_earlier_values_by_number_and_round_trips() {
        let text = "input 1 8 8\nconv 4 3 padding=1\nrelu\nconv 4 3 padding=1\nadd 2\nrelu\n\
                    take 2\nconv 4 1\nadd 5\nglobalavgpool\nflatten\ndense 10\n";
        let net = Network::parse("graph", text).expect("parses");
        assert_eq!(net.layers[3], Layer::Add { from: 2 });
        assert_eq!(net.layers[5], Layer::Take { from: 2 });
        let shapes = net.shapes().expect("fits");
        assert_eq!(shapes[8].size(), 4, "one value per channel");
        assert_eq!(
            Network::parse("graph", &net.to_string()).expect("again"),
            net
        );
        // Gradients reach every value (a weight lies before each); the input is not kept.
        assert!(net.carries_gradient()[1..].iter().all(|&g| g));
        assert!(!net.carries_gradient()[0]);
        let kept = net.kept_values();
        assert!(kept[2] && kept[5] && !kept[0] && !kept[3]);
    }

    #[test]
    fn bad_descriptions_are_explained() {
        for (text, words) in [
            ("dense 10", "input C H W"),
            ("input 1 28 28\nconv 4 30", "does not fit"),
            (
                "input 1 5 5\nmaxpool 3 padding=3\nflatten\ndense 2",
                "smaller than the window",
            ),
            ("input 1 5 5\nmaxpool 6\nflatten\ndense 2", "does not fit"),
            ("input 1 28 28\nsoftmax", "unknown layer"),
            ("input 1 28 28\nconv 4 3 dilation=2", "unknown conv option"),
            ("input 1 28 28\nrelu", "class scores"),
            ("input 1 8 8\nrelu\nadd 3\nflatten", "not an earlier layer"),
            (
                "input 1 8 8\nconv 2 3\nadd 0\nflatten",
                "of shape (1, 8, 8)",
            ),
            ("input 1 8 8\ntake x", "layer number"),
            ("input 1 4 4\navgpool 5\nflatten", "does not fit"),
            (
                "input 1 4 4\navgpool 2 step=2\nflatten",
                "unknown avgpool option",
            ),
        ] {
            let err = Network::parse("x", text).expect_err(text).to_string();
            assert!(err.contains(words), "{text}: {err}");
        }
    }
}
