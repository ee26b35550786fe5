//! Line charts as PNG files, drawn with `plotters`: the training curves (test accuracy against
//! the SGD step, [`accuracy`]) and `dyad chart` (any columns of a CSV against one of them, as
//! the soak's stock, disk and memory over time, [`table`]). Apart from the binary so that a
//! job runner or a report generator can draw the same charts.

pub mod accuracy;
mod draw;
pub mod table;

pub use draw::{ChartError, Line, Panel, WIDTH, draw, draw_png, size};
