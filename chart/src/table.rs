//! Columns of a CSV (a header row, then numbers) as the panels of a chart: `dyad chart`, for an
//! operator's own metrics files and for the soak's record of stock, disk and memory over time
//! (issue 13).

use crate::{Line, Panel};

/// A CSV that cannot be charted as asked.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// No header row.
    #[error("the CSV is empty")]
    Empty,
    /// A row holds something other than numbers.
    #[error("row {row} is not all numbers: {source}")]
    NotNumbers {
        /// The row's line (the header is line 1).
        row: usize,
        /// The value that is no number.
        #[source]
        source: std::num::ParseFloatError,
    },
    /// A row has more or fewer values than the header names.
    #[error("row {row} has {values} values for {columns} columns")]
    Ragged {
        /// The row's line.
        row: usize,
        /// Its values.
        values: usize,
        /// The header's columns.
        columns: usize,
    },
    /// A column asked for is not in the header.
    #[error("no column {name:?} (the CSV has {columns})")]
    NoColumn {
        /// The column asked for.
        name: String,
        /// The header's columns, comma-separated.
        columns: String,
    },
    /// A panel is not `Y AXIS=COLUMN,...`.
    #[error("a panel is `Y AXIS=COLUMN,...`, not {0:?}")]
    PanelSpec(String),
}

/// A CSV's columns by name.
pub struct Table {
    names: Vec<String>,
    rows: Vec<Vec<f64>>,
}

impl Table {
    /// Reads the CSV text.
    pub fn parse(text: &str) -> Result<Table, TableError> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let names: Vec<String> = lines
            .next()
            .ok_or(TableError::Empty)?
            .split(',')
            .map(|n| n.trim().to_owned())
            .collect();
        let mut rows = Vec::new();
        for (i, line) in lines.enumerate() {
            let row = line
                .split(',')
                .map(|v| v.trim().parse::<f64>())
                .collect::<Result<Vec<f64>, _>>()
                .map_err(|source| TableError::NotNumbers { row: i + 2, source })?;
            if row.len() != names.len() {
                return Err(TableError::Ragged {
                    row: i + 2,
                    values: row.len(),
                    columns: names.len(),
                });
            }
            rows.push(row);
        }
        Ok(Table { names, rows })
    }

    fn column(&self, name: &str) -> Result<usize, TableError> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| TableError::NoColumn {
                name: name.to_owned(),
                columns: self.names.join(", "),
            })
    }

    /// The panels of `specs` (each `Y AXIS=COLUMN,COLUMN,...`, top to bottom), every column
    /// drawn against the column `x`.
    pub fn panels<'a>(&self, x: &str, specs: &'a [String]) -> Result<Vec<Panel<'a>>, TableError> {
        let x = self.column(x)?;
        let mut panels = Vec::new();
        for spec in specs {
            let (y_desc, columns) = panel_spec(spec)?;
            let mut lines: Vec<Line> = Vec::new();
            for name in columns {
                let c = self.column(name)?;
                lines.push((name, self.rows.iter().map(|r| (r[x], r[c])).collect()));
            }
            panels.push(Panel {
                y_desc,
                y_range: None,
                lines,
            });
        }
        Ok(panels)
    }
}

/// A panel's spec: the y axis's description and the columns.
fn panel_spec(spec: &str) -> Result<(&str, Vec<&str>), TableError> {
    let (y_desc, columns) = spec
        .split_once('=')
        .ok_or_else(|| TableError::PanelSpec(spec.to_owned()))?;
    Ok((y_desc, columns.split(',').map(str::trim).collect()))
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
}
