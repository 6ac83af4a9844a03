//! Output safety: a repository built as an attacker would (file names,
//! author, commit message and ref names that hold terminal escapes,
//! Markdown links and images, HTML) goes through every output format, and
//! each output is read by what would show it: the text formats must hold no
//! raw control character, the Markdown no link, image or HTML of the
//! repository's when a CommonMark/GFM parser reads it, the HTML no script,
//! image or event attribute when an HTML5 parser reads it, the SARIF must
//! validate. And a credential in a clone URL reaches neither the output nor
//! git's command line.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use pulldown_cmark::{Event, Options, Parser, Tag};
use serde_json::Value;
use support::keyflare;

/// A synthetic user API token of this file's own ([`support::user_token`]).
fn token(seed: u32) -> String {
    support::user_token(seed, 777)
}

/// File names an attacker picks: a name that closes a code span and opens
/// an image and a link, terminal escapes, HTML with an event handler and a
/// script, pipes after a backslash (ends a GFM table cell), bare autolinks
/// and a mention, a right-to-left override.
const HOSTILE_NAMES: [&str; 5] = [
    "x` ![img](evil.example?p.png) [click here](evil.example) `y.env",
    "t\u{1b}]0;pwned\u{7}\u{1b}[2J\r\nforged line.env",
    "a\\|[cell](evil.example)|b <img src=x onerror=alert(1)><script>alert(1).env",
    "www.evil.example https:evil.example eve@evil.example @eve &lt;b&gt; ``.env",
    "\u{202e}vne.gnp",
];

/// The author's name: an OSC title, a screen clear, Markdown and HTML.
const HOSTILE_AUTHOR: &str = "Eve\u{1b}]0;pwned\u{7}\u{1b}[2J [x](https://evil.example) \
     ![i](https://evil.example/i.png) `|` www.evil.example \u{1b}]8;;https://evil.example\u{7}";

const HOSTILE_MESSAGE: &str = "Add `x` ![i](https://evil.example/m.png)\u{1b}[2J \
     <script>alert(1)</script>\n\n<img src=x onerror=alert(1)> [y](javascript:alert(1))\n";

fn git(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    use std::io::Write;
    let config = dir.parent().expect("parent").join("empty.gitconfig");
    if !config.exists() {
        std::fs::write(&config, "").expect("write empty git config");
    }
    let mut child = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", &config)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run git");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("git output");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The hostile repository: each hostile name holds a credential, in one
/// commit whose author and message are hostile (written as a raw object:
/// `git commit` would refuse or clean them), and a second branch whose
/// name holds HTML.
fn hostile_repo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("repo");
    std::fs::create_dir(&dir).expect("mkdir");
    git(&dir, &["init", "-q"], None);
    for (i, name) in HOSTILE_NAMES.iter().enumerate() {
        let content = format!("CLOUDFLARE_API_TOKEN={}\n", token(i as u32 + 1));
        std::fs::write(dir.join(name), content).expect("write hostile file");
    }
    git(&dir, &["add", "-A"], None);
    let tree = git(&dir, &["write-tree"], None);
    let commit = format!(
        "tree {tree}\nauthor {HOSTILE_AUTHOR} <eve@evil.example> 1709290800 +0100\n\
         committer {HOSTILE_AUTHOR} <eve@evil.example> 1709290800 +0100\n\n{HOSTILE_MESSAGE}"
    );
    let id = git(
        &dir,
        &[
            "hash-object",
            "-t",
            "commit",
            "-w",
            "--literally",
            "--stdin",
        ],
        Some(commit.as_bytes()),
    );
    git(&dir, &["update-ref", "refs/heads/main", &id], None);
    git(&dir, &["symbolic-ref", "HEAD", "refs/heads/main"], None);
    git(
        &dir,
        &[
            "branch",
            "evil<img_src=x_onerror=alert(1)>www.evil.example",
            &id,
        ],
        None,
    );
    (tmp, dir)
}

fn run(args: &[&str], dir: &Path) -> (String, String) {
    let out = keyflare()
        .args(args)
        .arg(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("run keyflare");
    let stdout = String::from_utf8(out.stdout).expect("output is UTF-8");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}\n{stdout}");
    (stdout, stderr)
}

/// No character that a terminal acts on or that hides or reorders text.
fn assert_printable(s: &str, what: &str) {
    for (i, c) in s.char_indices() {
        let bad = (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}');
        assert!(!bad, "{what}: raw {c:?} at byte {i}: {s:?}");
    }
}

/// Reads `md` as GitHub would (tables, strikethrough, task lists): no link,
/// image or HTML other than the `<br>` the reports join places with, and no
/// GFM bare autolink (`www.`, `https://`, `a@b`) to the repository's host in
/// plain text (pulldown-cmark does not form those itself).
fn assert_inert_markdown(md: &str, what: &str) {
    let bare =
        regex::Regex::new(r"(?i)((https?|ftp)://|www\.)\S*evil|[a-z0-9_.+-]@evil|(^|[^\\])@eve\b")
            .expect("regex");
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    for (event, range) in Parser::new_ext(md, opts).into_offset_iter() {
        match &event {
            Event::Start(Tag::Link { dest_url, .. }) => {
                panic!("{what}: a link to {dest_url} from {:?}", &md[range])
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                panic!("{what}: an image {dest_url} from {:?}", &md[range])
            }
            Event::Html(h) | Event::InlineHtml(h) if h.trim() != "<br>" => {
                panic!("{what}: HTML {h:?}")
            }
            Event::Start(Tag::HtmlBlock) => panic!("{what}: an HTML block at {range:?}"),
            Event::Text(_) => {
                // From the byte before: an escaped character is a text
                // event of its own, starting after its backslash.
                let start = (range.start.saturating_sub(1)..=range.start)
                    .find(|&i| md.is_char_boundary(i))
                    .unwrap_or(range.start);
                let source = &md[start..range.end];
                assert!(
                    !bare.is_match(source),
                    "{what}: a GFM autolink would form in {source:?}"
                );
            }
            _ => {}
        }
    }
}

#[test]
fn a_hostile_repository_cannot_inject_into_any_output() {
    let (_tmp, dir) = hostile_repo();

    // Text, for a terminal; github, for a CI log. The hostile values must be
    // there (escaped), or the test would prove nothing.
    for args in [
        &["scan", "--git", "--format", "text"][..],
        &["scan", "--format", "text"],
        &["scan", "--git", "--format", "github"],
        &["audit", "--format", "markdown"],
    ] {
        let (out, err) = run(args, &dir);
        assert_printable(&out, &format!("{args:?} stdout"));
        assert_printable(&err, &format!("{args:?} stderr"));
        assert!(out.contains("pwned"), "{args:?}: hostile names reported");
    }
    let (text, _) = run(&["scan", "--git", "--format", "text"], &dir);
    assert!(text.contains("by Eve\\u{1b}]0;pwned\\u{7}"), "{text}");
    let (github, _) = run(&["scan", "--git", "--format", "github"], &dir);
    assert!(github.lines().all(|l| l.starts_with("::")), "{github}");

    // Markdown: the scan's job summary and the audit.
    for args in [
        &["scan", "--git", "--format", "markdown"][..],
        &["scan", "--format", "markdown"],
        &["audit", "--format", "markdown"],
    ] {
        let (md, _) = run(args, &dir);
        assert!(md.contains("evil"), "{args:?}: hostile names reported");
        assert_inert_markdown(&md, &format!("{args:?}"));
    }

    // HTML, as a browser builds it.
    let (html, _) = run(&["audit", "--format", "html"], &dir);
    let doc = scraper::Html::parse_document(&html);
    assert!(doc
        .root_element()
        .text()
        .any(|t| t.contains("onerror=alert(1)")));
    for node in doc.tree.nodes() {
        let Some(el) = node.value().as_element() else {
            continue;
        };
        let name = el.name();
        assert!(
            !matches!(
                name,
                "script" | "img" | "iframe" | "object" | "embed" | "svg" | "a" | "form"
            ),
            "HTML has a <{name}> element"
        );
        for (attr, value) in el.attrs() {
            assert!(
                !attr.starts_with("on"),
                "HTML has an event attribute {attr}"
            );
            assert!(
                !value.contains("evil") && !value.contains("javascript:"),
                "HTML attribute {attr}={value:?}"
            );
        }
    }

    // SARIF validates; JSON parses and keeps the values.
    let validator = support::sarif_validator();
    // SARIF plain-text messages turn `[text](target)` into links (§3.11.6)
    // unless the bracket is escaped.
    let link = regex::Regex::new(r"(^|[^\\])\[[^\]]*\]\(").expect("regex");
    for args in [
        &["scan", "--git", "--format", "sarif"][..],
        &["audit", "--format", "sarif"],
    ] {
        let (sarif, _) = run(args, &dir);
        let v: Value = serde_json::from_str(&sarif).expect("SARIF is JSON");
        let errors = support::sarif_schema_errors(&validator, &v);
        assert!(errors.is_empty(), "{args:?}: {errors:#?}");
        let results = v["runs"][0]["results"].as_array().expect("results");
        assert!(results.len() >= 5, "{args:?}");
        for r in results {
            let text = r["message"]["text"].as_str().expect("message text");
            assert!(!link.is_match(text), "{args:?}: embedded link in {text:?}");
        }
    }
    for args in [
        &["scan", "--git", "--format", "json"][..],
        &["audit", "--format", "json"],
    ] {
        let (json, _) = run(args, &dir);
        let v: Value = serde_json::from_str(&json).expect("JSON parses");
        assert!(v["findings"].as_array().is_some_and(|f| f.len() >= 5));
    }
}

/// A fake `git` first on PATH: records its arguments and environment, and
/// fails quoting the credentials it was given (as a real git's error could).
fn fake_git(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let script = bin.join("git");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{0}/args'\nenv > '{0}/env'\n\
             echo \"fatal: unable to access $GIT_CONFIG_KEY_1 ($(echo \"$GIT_CONFIG_VALUE_0\" | cut -d' ' -f3 | base64 -d))\" >&2\n\
             exit 128\n",
            dir.display()
        ),
    )
    .expect("write fake git");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    bin
}

#[test]
fn credentials_in_a_clone_url_reach_neither_output_nor_command_line() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let bin = fake_git(tmp.path());
    let user = "ghp_FAKEsyntheticNOTAREALTOKEN0123456789";
    let query = "FAKEqueryTOKEN42";
    let url = format!("https://{user}@git.invalid/org/repo.git?access_token={query}&ref=main");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = keyflare()
        .args(["audit", &url])
        .env("PATH", path)
        .env_remove("GIT_CONFIG_COUNT")
        .output()
        .expect("run keyflare");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let args = std::fs::read_to_string(tmp.path().join("args")).expect("git ran");
    let env = std::fs::read_to_string(tmp.path().join("env")).expect("git env");
    // The fake git did quote both credentials; keyflare scrubbed them.
    assert!(stderr.contains("git clone --mirror https://git.invalid/org/repo.git?ref=main failed"));
    assert!(stderr.contains("***"), "{stderr}");
    for (what, text) in [
        ("stdout", String::from_utf8_lossy(&out.stdout).into_owned()),
        ("stderr", stderr.to_string()),
        ("git's arguments", args.clone()),
    ] {
        assert!(!text.contains(user), "{what} holds the user token: {text}");
        assert!(
            !text.contains(query),
            "{what} holds the query token: {text}"
        );
    }
    assert!(
        args.contains("https://git.invalid/org/repo.git?ref=main"),
        "{args}"
    );
    // The credentials went by environment, for that origin only.
    assert!(env.contains("GIT_CONFIG_COUNT=2"), "{env}");
    assert!(
        env.contains("GIT_CONFIG_KEY_0=http.https://git.invalid/.extraHeader"),
        "{env}"
    );
    assert!(
        env.contains("GIT_CONFIG_VALUE_0=Authorization: Basic "),
        "{env}"
    );
    assert!(env.contains(&format!("access_token={query}&ref=main.insteadOf")));
}

/// Pieces that Markdown, GFM and terminals give meaning to.
const PIECES: [&str; 34] = [
    "a", "b", " ", "  ", "`", "``", "\\", "*", "_", "[", "]", "(", ")", "!", "<", ">", "#", "|",
    "&", "amp;", "$", "@", "~", ":", "/", ".", "www", "WWW", "http", "https://", "ftp", "\u{1b}",
    "\n", "\u{202e}",
];

fn pieces() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop::collection::vec(prop::sample::select(PIECES.to_vec()), 0..24).prop_map(|v| v.concat())
}

/// The text and code of the events inside the one paragraph of `md`;
/// panics on anything else (link, image, HTML, emphasis, a second block).
fn paragraph_content(md: &str) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut code = Vec::new();
    for event in Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Start(Tag::Paragraph) | Event::End(pulldown_cmark::TagEnd::Paragraph) => {}
            Event::Text(t) => text.push_str(&t),
            Event::Code(c) => code.push(c.into_string()),
            other => panic!("{md:?} gives {other:?}"),
        }
    }
    (text, code)
}

proptest::proptest! {
    /// Whatever the value, its code span is one code span holding exactly
    /// the value (control characters escaped), in the middle of a line.
    #[test]
    fn a_code_span_holds_the_value_exactly(s in pieces()) {
        use keyflare::escape::{md_code, text, Md};
        let shown = text(&s).into_owned();
        let md = format!("x {} y", md_code(&s, Md::Inline));
        let (around, code) = paragraph_content(&md);
        if shown.is_empty() {
            proptest::prop_assert!(code.is_empty());
        } else {
            proptest::prop_assert_eq!(code, vec![shown]);
        }
        proptest::prop_assert_eq!(around, "x  y");
    }

    /// Whatever the value, escaped text is plain text that reads as the
    /// value, and GFM's autolink triggers are all escaped.
    #[test]
    fn escaped_text_is_only_the_text(s in pieces()) {
        use keyflare::escape::{md_text, text};
        let escaped = md_text(&s);
        let md = format!("x {escaped} y");
        let (read, code) = paragraph_content(&md);
        proptest::prop_assert!(code.is_empty());
        proptest::prop_assert_eq!(read, format!("x {} y", text(&s)));
        let autolink = regex::Regex::new(r"(?i)(www\.|(https?|ftp)://|(^|[^\\])@)").expect("regex");
        proptest::prop_assert!(!autolink.is_match(&escaped), "{:?}", escaped);
    }
}
