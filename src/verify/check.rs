//! Per-method strategies: which requests to send for a candidate, in which order, and how
//! several answers (one per account id or email) add up to one verdict.
//!
//! Rules kept here: an account token never goes to the user endpoint (it answers 1000 to a
//! working account token); "invalid" needs every attempt to say invalid; the first
//! active/inactive answer wins; trouble (network, rate limit, odd page) stops the attempts.

use super::envelope::{self, Judgement};
use super::http::Auth;
use super::{BlastRadius, Candidate, Verification, Verifier, VerifyMethod, VerifyStatus};

/// A candidate after normalisation: only the context its method uses, in trial order,
/// deduplicated. Equal jobs are verified once.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Job {
    method: VerifyMethod,
    secret: String,
    emails: Vec<String>,
    account_ids: Vec<String>,
}

/// One request kind, keyed with the secret in the verifier's cache.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum Probe {
    UserToken,
    AccountToken(String),
    GlobalKey(String),
}

/// Owned credential headers, the cache key of a blast-radius listing.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum AuthKey {
    Bearer(String),
    GlobalKey { key: String, email: String },
}

impl AuthKey {
    fn auth(&self) -> Auth<'_> {
        match self {
            AuthKey::Bearer(t) => Auth::Bearer(t),
            AuthKey::GlobalKey { key, email } => Auth::GlobalKey { key, email },
        }
    }
}

/// How a series of attempts ended.
struct Tally {
    judgement: Judgement,
    /// Index of the attempt that gave an active/inactive answer.
    winner: Option<usize>,
    tried: usize,
    invalid: usize,
}

/// Tries `items` in order until one gives a definitive answer (see module doc).
fn try_each(items: &[String], mut probe: impl FnMut(&str) -> Judgement) -> Tally {
    let mut tally = Tally {
        judgement: Judgement::trouble("nothing to try"),
        winner: None,
        tried: 0,
        invalid: 0,
    };
    for (i, item) in items.iter().enumerate() {
        tally.tried += 1;
        let j = probe(item);
        match j {
            Judgement::Active(_) | Judgement::Inactive(_) => {
                tally.judgement = j;
                tally.winner = Some(i);
                return tally;
            }
            Judgement::Invalid { conclusive, .. } => {
                tally.invalid += 1;
                tally.judgement = j;
                if conclusive {
                    return tally;
                }
            }
            Judgement::Unknown { give_up, .. } => {
                tally.judgement = j;
                if give_up {
                    return tally;
                }
            }
        }
    }
    tally
}

fn is_account_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An email that can go into a header as is: visible ASCII with an `@`, bounded length.
fn is_usable_email(s: &str) -> bool {
    s.len() <= 254 && s.contains('@') && s.bytes().all(|b| b.is_ascii_graphic())
}

/// `first` (from the command line) then `found`, filtered and without repeats.
fn ordered(first: Option<&String>, found: &[String], keep: fn(&str) -> bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in first.into_iter().chain(found) {
        let s = s.trim();
        if keep(s) && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// "for account <id>": account ids are not secret and tell the user where the token works.
fn winning_account(ids: &[String], winner: Option<usize>) -> Option<String> {
    winner
        .and_then(|i| ids.get(i))
        .map(|id| format!("for account {id}"))
}

fn verdict(status: VerifyStatus, detail: String) -> Verification {
    Verification {
        status,
        detail,
        blast_radius: None,
        token_id: None,
        account_id: None,
    }
}

/// Turns the tally of several attempts into a verdict. `tried` says what was tried
/// ("2 account ids"), `label` names the credential kind and `note` the attempt that won.
fn sum_up(label: &str, tried: &str, tally: &Tally, note: Option<String>) -> Verification {
    let (status, said) = match &tally.judgement {
        Judgement::Active(d) => (VerifyStatus::Active, d.clone()),
        Judgement::Inactive(d) => (VerifyStatus::Inactive, d.clone()),
        Judgement::Invalid { detail, conclusive } => {
            if *conclusive {
                return verdict(VerifyStatus::Invalid, format!("{label}: {detail}"));
            }
            if tally.invalid == tally.tried {
                let all = if tally.tried > 1 {
                    ", all said invalid"
                } else {
                    ""
                };
                let detail = format!("{label}: {detail}; {tried} tried{all}");
                return verdict(VerifyStatus::Invalid, detail);
            }
            (VerifyStatus::Unknown, detail.clone())
        }
        Judgement::Unknown { detail, .. } => (VerifyStatus::Unknown, detail.clone()),
    };
    let detail = match (status, note) {
        (VerifyStatus::Unknown, _) => format!(
            "{label}: no definitive answer from {tried} tried ({} said invalid; last: {said})",
            tally.invalid
        ),
        (_, Some(note)) => format!("{label}: {said} ({note})"),
        (_, None) => format!("{label}: {said}"),
    };
    verdict(status, detail)
}

/// A single-request verdict (user endpoint).
fn single(label: &str, j: &Judgement) -> Verification {
    match j {
        Judgement::Active(d) => verdict(VerifyStatus::Active, format!("{label}: {d}")),
        Judgement::Inactive(d) => verdict(VerifyStatus::Inactive, format!("{label}: {d}")),
        Judgement::Invalid { detail, .. } => {
            verdict(VerifyStatus::Invalid, format!("{label}: {detail}"))
        }
        Judgement::Unknown { detail, .. } => {
            verdict(VerifyStatus::Unknown, format!("{label}: {detail}"))
        }
    }
}

/// Replaces any occurrence of the secret: a last guard in case a server echoed it back.
fn scrub(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_string()
    } else {
        text.replace(secret, "[redacted]")
    }
}

impl Verifier {
    /// Normalises a candidate into the job that decides which requests it needs.
    pub(crate) fn plan(&self, c: &Candidate) -> Job {
        let uses_ids = matches!(
            c.method,
            VerifyMethod::AccountToken | VerifyMethod::LegacyToken
        );
        let uses_emails = matches!(c.method, VerifyMethod::GlobalKey);
        Job {
            method: c.method,
            secret: c.secret.clone(),
            emails: if uses_emails {
                ordered(self.email.as_ref(), &c.emails, is_usable_email)
            } else {
                Vec::new()
            },
            account_ids: if uses_ids {
                ordered(self.account_id.as_ref(), &c.account_ids, is_account_id)
            } else {
                Vec::new()
            },
        }
    }

    /// Verifies one job: its requests, the verdict, the optional blast radius.
    pub(crate) fn check(&self, job: &Job) -> Verification {
        let secret = job.secret.as_str();
        let (mut v, winner) = match job.method {
            VerifyMethod::Unsupported(why) => (verdict(VerifyStatus::Unknown, why.into()), None),
            VerifyMethod::UserToken => {
                let j = self.probe(secret, Probe::UserToken);
                (
                    single("user token", &j),
                    Some(AuthKey::Bearer(secret.into())),
                )
            }
            VerifyMethod::AccountToken => {
                if job.account_ids.is_empty() {
                    let why = "account token: no account id found near it; pass --account-id";
                    (verdict(VerifyStatus::Unknown, why.into()), None)
                } else {
                    let tally = try_each(&job.account_ids, |id| {
                        self.probe(secret, Probe::AccountToken(id.into()))
                    });
                    let tried = plural(tally.tried, "account id");
                    let note = winning_account(&job.account_ids, tally.winner);
                    let v = sum_up("account token", &tried, &tally, note);
                    (v, Some(AuthKey::Bearer(secret.into())))
                }
            }
            VerifyMethod::LegacyToken => {
                (self.check_legacy(job), Some(AuthKey::Bearer(secret.into())))
            }
            VerifyMethod::GlobalKey => {
                if job.emails.is_empty() {
                    let why = "no email found next to the key; pass --email";
                    (verdict(VerifyStatus::Unknown, why.into()), None)
                } else {
                    let tally = try_each(&job.emails, |email| {
                        self.probe(secret, Probe::GlobalKey(email.into()))
                    });
                    let auth = tally.winner.and_then(|i| job.emails.get(i)).map(|email| {
                        AuthKey::GlobalKey {
                            key: secret.into(),
                            email: email.clone(),
                        }
                    });
                    let tried = plural(tally.tried, "email");
                    let note = tally
                        .winner
                        .map(|i| format!("with email {} of {}", i + 1, job.emails.len()));
                    (sum_up("Global API Key", &tried, &tally, note), auth)
                }
            }
        };
        if matches!(v.status, VerifyStatus::Active | VerifyStatus::Inactive) {
            self.identify(job, &mut v);
        }
        if self.blast_radius && v.status == VerifyStatus::Active {
            if let Some(auth) = winner {
                match self.radii.get_or_compute(auth.clone(), || self.list(&auth)) {
                    Ok(radius) => v.blast_radius = Some(radius),
                    Err(why) => v.detail = format!("{}; blast radius unavailable: {why}", v.detail),
                }
            }
        }
        v.detail = scrub(&v.detail, secret);
        if let Some(r) = v.blast_radius.as_mut() {
            for name in r.accounts.iter_mut().chain(r.zones.iter_mut()) {
                *name = scrub(name, secret);
            }
        }
        v
    }

    /// Records which token answered (`result.id`) and, for an account token, in which
    /// account, for `keyflare respond`. Reads the cached answers only: no request is sent.
    fn identify(&self, job: &Job, v: &mut Verification) {
        let secret = job.secret.as_str();
        let cached = |probe: Probe| {
            let key = (probe.clone(), secret.to_string());
            self.probes.get(&key).and_then(|(j, id)| {
                matches!(j, Judgement::Active(_) | Judgement::Inactive(_))
                    .then_some(id)
                    .flatten()
            })
        };
        let user = || cached(Probe::UserToken);
        let account = || {
            job.account_ids
                .iter()
                .find_map(|a| cached(Probe::AccountToken(a.clone())).map(|id| (id, a.clone())))
        };
        let found = match job.method {
            VerifyMethod::UserToken => user().map(|id| (id, None)),
            VerifyMethod::AccountToken => account().map(|(id, a)| (id, Some(a))),
            VerifyMethod::LegacyToken => user()
                .map(|id| (id, None))
                .or_else(|| account().map(|(id, a)| (id, Some(a)))),
            VerifyMethod::GlobalKey | VerifyMethod::Unsupported(_) => None,
        };
        if let Some((id, account)) = found {
            v.token_id = Some(id);
            v.account_id = account;
        }
    }

    /// Legacy token: the user endpoint; only if it says "invalid", the account endpoint with
    /// each known account id (the token may be an account token).
    fn check_legacy(&self, job: &Job) -> Verification {
        let secret = job.secret.as_str();
        let user = self.probe(secret, Probe::UserToken);
        let user_invalid = matches!(
            user,
            Judgement::Invalid {
                conclusive: false,
                ..
            }
        );
        if !user_invalid || job.account_ids.is_empty() {
            return single("legacy token", &user);
        }
        let mut tally = try_each(&job.account_ids, |id| {
            self.probe(secret, Probe::AccountToken(id.into()))
        });
        let tried = format!(
            "the user endpoint and {}",
            plural(tally.tried, "account id")
        );
        let note = winning_account(&job.account_ids, tally.winner);
        // The user endpoint's "invalid" counts as one more attempt that said invalid.
        tally.tried += 1;
        tally.invalid += 1;
        sum_up("legacy token", &tried, &tally, note)
    }

    /// Sends one verify request (or reuses its cached verdict).
    fn probe(&self, secret: &str, probe: Probe) -> Judgement {
        self.probe_with_id(secret, probe).0
    }

    /// [`Verifier::probe`] with the token id the answer carried (`result.id`), if any.
    fn probe_with_id(&self, secret: &str, probe: Probe) -> (Judgement, Option<String>) {
        let key = (probe.clone(), secret.to_string());
        self.probes.get_or_compute(key, || {
            let (path, auth) = match &probe {
                Probe::UserToken => ("/user/tokens/verify".to_string(), Auth::Bearer(secret)),
                Probe::AccountToken(id) => (
                    format!("/accounts/{id}/tokens/verify"),
                    Auth::Bearer(secret),
                ),
                Probe::GlobalKey(email) => {
                    ("/user".to_string(), Auth::GlobalKey { key: secret, email })
                }
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            match self.transport.get(&path, auth) {
                Err(why) => (Judgement::trouble(why), None),
                Ok(reply) => match probe {
                    Probe::GlobalKey(_) => {
                        (envelope::judge_global_key(reply.status, &reply.body), None)
                    }
                    _ => (
                        envelope::judge_token(reply.status, &reply.body, now),
                        envelope::token_id(reply.status, &reply.body),
                    ),
                },
            }
        })
    }

    /// Read-only listing of what an active credential reaches.
    fn list(&self, auth: &AuthKey) -> Result<BlastRadius, String> {
        let fetch = |path: &str| {
            let reply = self.transport.get(path, auth.auth())?;
            envelope::read_listing(reply.status, &reply.body)
        };
        let accounts = fetch("/accounts?per_page=50").map_err(|e| format!("accounts: {e}"))?;
        let zones = fetch("/zones?per_page=50").map_err(|e| format!("zones: {e}"))?;
        Ok(BlastRadius {
            account_count: accounts.total,
            zone_count: zones.total,
            accounts: accounts.names,
            zones: zones.names,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_order_and_filter() {
        let id_a = "0123456789abcdef0123456789abcdef".to_string();
        let id_b = "fedcba9876543210fedcba9876543210".to_string();
        let found = vec![
            id_b.clone(),
            "NOT-AN-ID".to_string(),
            id_a.clone(),
            "0123456789ABCDEF0123456789ABCDEF".to_string(),
        ];
        assert_eq!(
            ordered(Some(&id_a), &found, is_account_id),
            vec![id_a.clone(), id_b.clone()]
        );
        let emails = vec!["x@example.com".to_string(), "bad email@x".to_string()];
        assert_eq!(
            ordered(None, &emails, is_usable_email),
            vec!["x@example.com"]
        );
    }

    #[test]
    fn tally_rules() {
        let invalid = || Judgement::Invalid {
            detail: "API error 1000".into(),
            conclusive: false,
        };
        let other = || Judgement::Unknown {
            detail: "API error 9109 (HTTP 403)".into(),
            give_up: false,
        };
        let ids: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
        let all_invalid = try_each(&ids, |_| invalid());
        let v = sum_up("account token", "3 account ids", &all_invalid, None);
        assert_eq!(v.status, VerifyStatus::Invalid);
        assert!(v.detail.contains("3 account ids"), "{}", v.detail);

        let mut n = 0;
        let mixed = try_each(&ids, |_| {
            n += 1;
            if n == 2 {
                other()
            } else {
                invalid()
            }
        });
        assert_eq!(
            sum_up("account token", "3 account ids", &mixed, None).status,
            VerifyStatus::Unknown
        );

        let mut n = 0;
        let wins = try_each(&ids, |_| {
            n += 1;
            if n == 2 {
                Judgement::Active("token is active".into())
            } else {
                invalid()
            }
        });
        assert_eq!(wins.tried, 2);
        let note = winning_account(&ids, wins.winner);
        let v = sum_up("account token", "2 account ids", &wins, note);
        assert_eq!(v.status, VerifyStatus::Active);
        assert!(v.detail.ends_with("(for account b)"), "{}", v.detail);

        let trouble = try_each(&ids, |_| Judgement::trouble("timed out"));
        assert_eq!(trouble.tried, 1);
    }

    #[test]
    fn scrub_removes_secret() {
        assert_eq!(scrub("a SECRET b", "SECRET"), "a [redacted] b");
        assert_eq!(scrub("abc", ""), "abc");
    }
}
