//! `dyad chart`: columns of a CSV (a header row, then numbers) drawn against one of them, in
//! panels, as a PNG (`dyad_chart::table`).

use std::path::PathBuf;

use anyhow::Context;
use dyad_chart::table::Table;

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

pub fn run(args: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.csv)
        .with_context(|| format!("cannot read {}", args.csv.display()))?;
    let table = Table::parse(&text).with_context(|| format!("{}", args.csv.display()))?;
    let panels = table.panels(&args.x, &args.panels)?;
    dyad_chart::draw_png(&args.out, &args.title, &args.x, &panels)?;
    println!("{}", args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let (w, h, _) = dyad_server::datasets::png::decode_gray(&bytes).expect("a PNG");
        let (width, height) = dyad_chart::size(2);
        assert_eq!((w, h), (width as usize, height as usize));
    }
}
