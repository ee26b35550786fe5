//! `dyad chart`: columns of a CSV (a header row, then numbers) drawn against one of them, in
//! panels, as a PNG. For an operator's own metrics files and for the soak's record of stock,
//! disk and memory over time (issue 13).

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::chart::{Line, Panel, draw_png};

#[derive(clap::Args)]
pub struct Args {
    /// The CSV file: a header row of column names, then rows of numbers.
    #[arg(long)]
    csv: PathBuf,
    /// The PNG file to write.
    #[arg(long)]
    out: PathBuf,
    /// The chart's title.
    #[arg(long, default_value = "")]
    title: String,
    /// The column on the x axis.
    #[arg(long)]
    x: String,
    /// A panel: `Y AXIS=COLUMN,COLUMN,...` (repeat for more panels, stacked top to bottom).
    #[arg(long = "panel", required = true)]
    panels: Vec<String>,
}

/// A CSV's columns by name.
struct Table {
    names: Vec<String>,
    rows: Vec<Vec<f64>>,
}

impl Table {
    fn parse(text: &str) -> anyhow::Result<Table> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let names: Vec<String> = lines
            .next()
            .context("the CSV is empty")?
            .split(',')
            .map(|n| n.trim().to_owned())
            .collect();
        let mut rows = Vec::new();
        for (i, line) in lines.enumerate() {
            let row = line
                .split(',')
                .map(|v| v.trim().parse::<f64>())
                .collect::<Result<Vec<f64>, _>>()
                .with_context(|| format!("row {} is not all numbers", i + 2))?;
            if row.len() != names.len() {
                bail!(
                    "row {} has {} values for {} columns",
                    i + 2,
                    row.len(),
                    names.len()
                );
            }
            rows.push(row);
        }
        Ok(Table { names, rows })
    }

    fn column(&self, name: &str) -> anyhow::Result<usize> {
        self.names
            .iter()
            .position(|n| n == name)
            .with_context(|| format!("no column {name:?} (the CSV has {})", self.names.join(", ")))
    }
}

/// A `--panel` argument: the y axis's description and the columns.
fn panel_spec(spec: &str) -> anyhow::Result<(&str, Vec<&str>)> {
    let (y_desc, columns) = spec
        .split_once('=')
        .with_context(|| format!("a panel is `Y AXIS=COLUMN,...`, not {spec:?}"))?;
    Ok((y_desc, columns.split(',').map(str::trim).collect()))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.csv)
        .with_context(|| format!("cannot read {}", args.csv.display()))?;
    let table = Table::parse(&text).with_context(|| format!("{}", args.csv.display()))?;
    let x = table.column(&args.x)?;
    let mut panels = Vec::new();
    for spec in &args.panels {
        let (y_desc, columns) = panel_spec(spec)?;
        let mut lines: Vec<Line> = Vec::new();
        for name in columns {
            let c = table.column(name)?;
            lines.push((name, table.rows.iter().map(|r| (r[x], r[c])).collect()));
        }
        panels.push(Panel {
            y_desc,
            y_range: None,
            lines,
        });
    }
    draw_png(&args.out, &args.title, &args.x, &panels)?;
    println!("{}", args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_reads_its_columns_and_refuses_ragged_or_wordy_rows() {
        let table = Table::parse("t,a,b\n0,1,2\n10,3,4\n").expect("parses");
        assert_eq!(table.column("b").expect("b"), 2);
        assert_eq!(table.rows[1], vec![10.0, 3.0, 4.0]);
        assert!(table.column("c").is_err());
        assert!(Table::parse("t,a\n0,1,2\n").is_err());
        assert!(Table::parse("t,a\n0,x\n").is_err());
        assert!(Table::parse("").is_err());
        assert_eq!(
            panel_spec("memory (MB)=a, b").expect("spec"),
            ("memory (MB)", vec!["a", "b"])
        );
        assert!(panel_spec("no columns").is_err());
    }

    #[test]
    fn a_chart_of_two_panels_is_drawn() {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = dir.path().join("m.csv");
        std::fs::write(&csv, "t,a,b\n0,1,2\n10,3,4\n20,2,8\n").expect("csv");
        let out = dir.path().join("m.png");
        run(Args {
            csv,
            out: out.clone(),
            title: "two panels".into(),
            x: "t".into(),
            panels: vec!["a=a".into(), "b=b".into()],
        })
        .expect("drawn");
        let bytes = std::fs::read(&out).expect("written");
        let (w, h, _) = crate::data::png::decode_gray(&bytes).expect("a PNG");
        let (width, height) = crate::chart::size(2);
        assert_eq!((w, h), (width as usize, height as usize));
    }
}
