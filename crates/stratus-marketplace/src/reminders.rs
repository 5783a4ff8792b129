//! The scheduled jobs, on the server's clock (`STRATUS_NOW` when set, so
//! tests run them by starting the server at a chosen time):
//!
//! - every tick: drop the pending uploads past their lifetime;
//! - with `endorser.reminder=true`, once a day: the expiry warning of
//!   marketplace.md §6.2 to every endorser with latest, not deprecated
//!   entries whose `dcterms:valid` falls in the next three days (one mail
//!   per endorser, listing them);
//! - with `endorser.reminder=true`, every 30 days: the reminder to every
//!   endorser of the latest valid entries they endorse, with the command
//!   that deprecates one.
//!
//! Each job's last run is recorded in the store ([`Store::claim_job`]), so
//! a restart does not send the mails again and several servers sharing a
//! store send them once. A job that is due runs at the first tick (at
//! start-up, then every minute). The legacy job's query mixed aggregates
//! without GROUP BY and never returned a row, and a subject ending in its
//! CN crashed it; here the endorser's name is the subject's first CN
//! wherever it stands, else "Marketplace user".

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::entry::Entry;
use crate::mail::Mailer;
use crate::store::query::StatusFilter;
use crate::store::{ListQuery, Store};

/// How often the jobs look at the clock.
pub const TICK: Duration = Duration::from_secs(60);
/// The expiry warning's period and horizon.
const DAY: i64 = 86_400;
/// The reminder's period.
const REMINDER_PERIOD: i64 = 30 * DAY;
/// How far ahead the expiry warning looks.
const EXPIRY_HORIZON: i64 = 3 * DAY;

/// The scheduled jobs of one server.
pub struct Jobs {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The SMTP client (reminders need it).
    pub mailer: Option<Arc<Mailer>>,
    /// `endorser.reminder=true`.
    pub reminders: bool,
    /// `marketplace.endpoint`, without a trailing `/`.
    pub endpoint: String,
}

impl Jobs {
    /// Run every due job once, at "now" (blocking: call it on the blocking
    /// pool).
    pub fn tick(&self) {
        let now = crate::document::now_seconds();
        let now_text = crate::document::format_time(now);
        match self.store.purge_pending(&now_text) {
            Ok(0) => {}
            Ok(n) => tracing::info!("dropped {n} pending uploads past their lifetime"),
            Err(error) => tracing::error!("cannot drop expired pending uploads: {error}"),
        }
        let Some(mailer) = self.mailer.as_deref().filter(|_| self.reminders) else {
            return;
        };
        if self.claim("expiry-warning", now, DAY) {
            self.expiry_warnings(mailer, now);
        }
        if self.claim("reminder", now, REMINDER_PERIOD) {
            self.reminders(mailer, now);
        }
    }

    fn claim(&self, job: &str, now: i64, every: i64) -> bool {
        self.store
            .claim_job(job, now, every)
            .unwrap_or_else(|error| {
                tracing::error!("job {job}: {error}");
                false
            })
    }

    /// The latest valid, not deprecated entries, by endorser.
    fn valid_by_endorser(&self, now: i64) -> BTreeMap<String, Vec<Arc<Entry>>> {
        let mut query = ListQuery::new(crate::document::format_time(now));
        query.status = StatusFilter::Valid;
        let mut by_email: BTreeMap<String, Vec<Arc<Entry>>> = BTreeMap::new();
        match self.store.list(&query) {
            Ok(listing) => {
                for entry in listing.rows {
                    by_email
                        .entry(entry.key.email.clone())
                        .or_default()
                        .push(entry);
                }
            }
            Err(error) => tracing::error!("reminders: cannot list the entries: {error}"),
        }
        by_email
    }

    fn expiry_warnings(&self, mailer: &Mailer, now: i64) {
        let horizon = crate::document::format_time(now.saturating_add(EXPIRY_HORIZON));
        for (email, entries) in self.valid_by_endorser(now) {
            let expiring: Vec<&Arc<Entry>> = entries
                .iter()
                .filter(|e| {
                    e.fields
                        .valid
                        .as_deref()
                        .is_some_and(|v| v <= horizon.as_str())
                })
                .collect();
            if expiring.is_empty() {
                continue;
            }
            let body = expiry_mail(&self.endpoint, &expiring);
            self.send(mailer, "expiry warning", &email, body);
        }
    }

    fn reminders(&self, mailer: &Mailer, now: i64) {
        for (email, entries) in self.valid_by_endorser(now) {
            let body = reminder_mail(&email, &entries);
            self.send(mailer, "reminder", &email, body);
        }
    }

    fn send(&self, mailer: &Mailer, what: &str, to: &str, body: String) {
        match mailer.send(to, body) {
            Ok(()) => tracing::info!("{what} sent to {to}"),
            Err(error) => tracing::error!("{what} to {to} could not be sent: {error}"),
        }
    }
}

/// Run the jobs every [`TICK`] until the runtime stops.
pub async fn run(jobs: Arc<Jobs>) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let jobs = Arc::clone(&jobs);
        if let Err(error) = tokio::task::spawn_blocking(move || jobs.tick()).await {
            tracing::error!("the scheduled jobs failed: {error}");
        }
    }
}

/// The expiry warning (§6.2).
pub fn expiry_mail(endpoint: &str, entries: &[&Arc<Entry>]) -> String {
    let mut text = String::from(
        "Dear Marketplace user,\n\n\
         The following metadata entries you endorsed in the StratusLab Marketplace are\n\
         due to expire shortly. If the images are still in use, please re-sign the\n\
         metadata with an extended validity period and upload it again.\n\n",
    );
    for entry in entries {
        let key = &entry.key;
        text.push_str(&format!(
            "{}\texpires: {}\nRetrieve entry: {endpoint}/{}?media=xml\n\n",
            key.identifier,
            entry.fields.valid.as_deref().unwrap_or(""),
            crate::http::entry_path(key)
        ));
    }
    text
}

/// The reminder (§6.2).
pub fn reminder_mail(email: &str, entries: &[Arc<Entry>]) -> String {
    let name = entries
        .iter()
        .find_map(|e| e.fields.subject.as_deref().and_then(common_name))
        .unwrap_or_else(|| "Marketplace user".to_string());
    let mut text = format!(
        "Dear {name},\n\n\
         You are currently endorsing the following images in the StratusLab Marketplace.\n\
         If an image should no longer be used, please deprecate it with:\n\n  \
         stratus-deprecate-metadata --email={email} <image id>\n\n"
    );
    for entry in entries {
        let f = &entry.fields;
        let os = [f.os.as_deref(), f.os_version.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        text.push_str(&format!(
            "{}\tendorsed: {}\tOS: {}\tlocation: {}\n",
            entry.key.identifier,
            entry.key.created,
            if os.is_empty() { "-" } else { &os },
            f.locations.first().map_or("-", String::as_str)
        ));
    }
    text
}

/// The first `CN=` of an RFC 2253 subject, wherever it stands.
fn common_name(subject: &str) -> Option<String> {
    subject
        .split(',')
        .map(str::trim)
        .find_map(|rdn| {
            rdn.split_once('=')
                .filter(|(t, _)| t.trim().eq_ignore_ascii_case("CN"))
                .map(|(_, v)| v.trim().to_string())
        })
        .filter(|cn| !cn.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_subjects_give_a_name() {
        assert_eq!(common_name("C=EU,O=X,CN=Jane").as_deref(), Some("Jane"));
        assert_eq!(common_name("CN=Jane,O=X").as_deref(), Some("Jane"));
        assert_eq!(common_name("O=X,C=EU"), None);
        assert_eq!(common_name("CN="), None);
        assert_eq!(common_name(""), None);
    }
}
