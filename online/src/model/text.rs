//! Networks as text, read and written. The format has one layer per line after an `input C H W` line (`#` starts a comment):
//!
//! ```text
//! input 1 28 28
//! conv 16 5            # out-channels, kernel; optional stride=S padding=P
//! relu
//! maxpool              # 2x2, stride 2
//! flatten
//! dense 100            # outputs
//! relu
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
                Layer::MaxPool => writeln!(f, "maxpool")?,
                Layer::Flatten => writeln!(f, "flatten")?,
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
                "maxpool" if words.len() == 1 => layers.push(Layer::MaxPool),
                "flatten" if words.len() == 1 => layers.push(Layer::Flatten),
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

    #[test]
    fn bad_descriptions_are_explained() {
        for (text, words) in [
            ("dense 10", "input C H W"),
            ("input 1 28 28\nconv 4 30", "does not fit"),
            ("input 1 5 5\nmaxpool\nflatten\ndense 2", "even sizes"),
            ("input 1 28 28\nsoftmax", "unknown layer"),
            ("input 1 28 28\nconv 4 3 dilation=2", "unknown conv option"),
            ("input 1 28 28\nrelu", "class scores"),
        ] {
            let err = Network::parse("x", text).expect_err(text).to_string();
            assert!(err.contains(words), "{text}: {err}");
        }
    }
}
