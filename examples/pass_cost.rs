//! Developer tool: what the two passes every text file goes through cost on
//! a tree, the anchor search and the decoders (`find_encoded`), each file
//! timed right after it is brought into cache, as a scan's read leaves it.
//! Prints the minimum, median and maximum of seven rounds, in ms.
//! `cargo run --release --example pass_cost -- DIR`
use std::time::{Duration, Instant};

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let rules = keyflare::RuleSet::builtin().expect("rules");
    let matcher = keyflare::matcher::Matcher::new(&rules);
    let files: Vec<Vec<u8>> = ignore::WalkBuilder::new(&dir)
        .hidden(false)
        .build()
        .flatten()
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .collect();
    let (mut anchor, mut decode) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let (mut a, mut d) = (Duration::ZERO, Duration::ZERO);
        for f in &files {
            // One pass over the file brings it into cache.
            std::hint::black_box(memchr::memchr(0xfe, f));
            let start = Instant::now();
            let mut facts = matcher.new_facts("file.txt");
            matcher.see_piece(&mut facts, f);
            std::hint::black_box(&facts);
            let seen = Instant::now();
            std::hint::black_box(keyflare::scan::decode::find_encoded(f, 0..f.len(), false));
            a += seen - start;
            d += seen.elapsed();
        }
        anchor.push(a.as_secs_f64() * 1e3);
        decode.push(d.as_secs_f64() * 1e3);
    }
    let spread = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        format!("{:.1} {:.1} {:.1}", v[0], v[v.len() / 2], v[v.len() - 1])
    };
    let bytes: usize = files.iter().map(Vec::len).sum();
    println!(
        "{} files, {:.1} MB: anchor search {} ms, decoders {} ms",
        files.len(),
        bytes as f64 / 1e6,
        spread(&mut anchor),
        spread(&mut decode)
    );
}
