//! Audit shards on arbitrary bytes: `merge::shard::parse` either refuses
//! the input with a message or gives a shard within the caps; an accepted
//! shard merges and renders in every format without panic, the same way
//! twice, and the HTML report forms no element and loads nothing from the
//! shard's text.
#![no_main]

use keyflare::report::org::{render, OrgFormat};
use keyflare::pipeline::merge::shard::{self, MAX_CREDENTIALS, MAX_PLACES, MAX_STRING};
use keyflare::pipeline::merge::{merge, rules_digest, MergeOptions};
use keyflare::rules::RuleSet;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules load"))
}

fuzz_target!(|data: &[u8]| {
    let s = match shard::parse(data) {
        Ok(s) => s,
        Err(e) => {
            assert!(!e.message.is_empty());
            return;
        }
    };
    assert!(s.audit.credentials.len() <= MAX_CREDENTIALS);
    assert!(s.repository.name.len() <= MAX_STRING);
    for c in &s.audit.credentials {
        assert!(c.places.len() <= MAX_PLACES);
        assert_eq!(c.fingerprint.len(), 32);
    }
    let rules = rules();
    let opts = MergeOptions {
        allow_mixed: true,
        version: "fuzz".into(),
        rules_digest: rules_digest(rules),
    };
    let one = merge(vec![("a.json".into(), s.clone())], rules, &opts).expect("one shard merges");
    let two = merge(vec![("b.json".into(), s)], rules, &opts).expect("one shard merges");
    for format in [
        OrgFormat::Markdown,
        OrgFormat::Html,
        OrgFormat::Json,
        OrgFormat::Sarif,
    ] {
        let a = render(&one, rules, format, false);
        assert_eq!(a, render(&two, rules, format, false), "{format:?} depends on the file name");
        match format {
            OrgFormat::Json | OrgFormat::Sarif => {
                serde_json::from_slice::<serde_json::Value>(&a).expect("valid JSON");
            }
            OrgFormat::Html => {
                let html = String::from_utf8_lossy(&a);
                // Our template has no script, image or link, and no tag
                // with src or href: any would come from the shard. (Text
                // may say "src=": escaped, it opens no tag.)
                for bad in ["<script", "<img", "<a ", "<link", "<iframe"] {
                    assert!(!html.contains(bad), "HTML holds {bad}");
                }
                for tag in html.split('<').skip(1) {
                    let tag = tag.split('>').next().unwrap_or_default();
                    assert!(
                        !tag.contains("src=") && !tag.contains("href="),
                        "a tag loads something: <{tag}>"
                    );
                }
            }
            OrgFormat::Markdown => {}
        }
    }
});
