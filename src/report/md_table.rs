//! Markdown tables, as every Markdown report writes them: a header line and
//! its `|---|` line, then `| a | b |` rows. Cells arrive escaped (see
//! [`crate::escape`]); nothing here escapes or looks into them.
//!
//! Stage: report. Pure: it never scans, filters or verifies, and writes
//! only into the string it is given.

use std::fmt::{Display, Write};

/// The header line `| a | b |` and its separator `|---|---|`, from the
/// column names as they read between the outer bars: `"a | b"`.
pub(crate) fn head(out: &mut String, columns: &str) {
    let _ = writeln!(out, "| {columns} |");
    out.push('|');
    for _ in columns.split(" | ") {
        out.push_str("---|");
    }
    out.push('\n');
}

/// One row: `| a | b |` and a newline.
pub(crate) fn row(out: &mut String, cells: &[&dyn Display]) {
    out.push('|');
    for c in cells {
        let _ = write!(out, " {c} |");
    }
    out.push('\n');
}

/// A cell listing the first five of `items` one per line (`<br>`), then
/// "and N more" when there are `total` > 5.
pub(crate) fn first_five(items: impl Iterator<Item = String>, total: usize) -> String {
    let mut shown: Vec<String> = items.take(5).collect();
    if total > 5 {
        shown.push(format!("and {} more", total - 5));
    }
    shown.join("<br>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_and_rows() {
        let mut out = String::new();
        head(&mut out, "a | b c");
        row(&mut out, &[&1, &"x"]);
        assert_eq!(out, "| a | b c |\n|---|---|\n| 1 | x |\n");
    }

    #[test]
    fn five_then_how_many_more() {
        let items = || (1..=7).map(|i| i.to_string());
        assert_eq!(first_five(items().take(2), 2), "1<br>2");
        assert_eq!(
            first_five(items(), 7),
            "1<br>2<br>3<br>4<br>5<br>and 2 more"
        );
    }
}
