//! Developer tool: which rule patterns cost the most time on a tree, after
//! the keyword prefilter (as in a real scan).
//! `cargo run --release --example pattern_cost -- DIR`
use std::time::{Duration, Instant};

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let rules = keyflare::RuleSet::builtin().expect("rules");
    let mut cost: Vec<Vec<(Duration, usize)>> = rules
        .rules()
        .iter()
        .map(|r| vec![(Duration::ZERO, 0); r.patterns.len()])
        .collect();
    let mut bytes = 0usize;
    let matcher = keyflare::matcher::Matcher::new(&rules);
    let mut prefilter = Duration::ZERO;
    for entry in ignore::WalkBuilder::new(&dir)
        .hidden(false)
        .build()
        .flatten()
    {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(data) = std::fs::read(entry.path()) else {
            continue;
        };
        bytes += data.len();
        let path = entry.path().to_string_lossy().into_owned();
        let t = Instant::now();
        let seen = matcher.active_rules(&path, &data);
        prefilter += t.elapsed();
        // Only what the prefilter lets through, as in a real scan.
        for (ri, pi) in
            matcher.patterns_to_run(&keyflare::matcher::Input::blob(&path, &data), &seen)
        {
            let t = Instant::now();
            let n = rules.rules()[ri].patterns[pi]
                .regex()
                .find_iter(&data)
                .count();
            cost[ri][pi].0 += t.elapsed();
            cost[ri][pi].1 += n;
        }
    }
    println!("{bytes} bytes; prefilter {prefilter:?}");
    let mut rows = Vec::new();
    for (ri, r) in rules.rules().iter().enumerate() {
        for (pi, c) in cost[ri].iter().enumerate() {
            rows.push((
                c.0,
                format!("{} #{}: {:?} ({} matches)", r.id, pi + 1, c.0, c.1),
            ));
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    for r in rows {
        println!("{}", r.1);
    }
}
