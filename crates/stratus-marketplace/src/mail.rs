//! The mails the Marketplace sends (marketplace.md §6.1, §6.2): the
//! confirmation of an upload to its endorser, the abuse report to the
//! administrator, and the reminder and expiry-warning mails; sent over SMTP
//! with lettre.
//!
//! TLS: `mail.ssl=true` speaks SMTPS (TLS from the first byte); otherwise
//! STARTTLS is used when the server offers it, as the legacy javamail
//! setup did, and required when credentials are to be sent, so a password
//! never crosses the network in clear. Credentials are sent only when both
//! `mail.user` and `mail.password` are set. Certificates are checked
//! against the system's roots.
//!
//! Sending blocks (callers run it on the blocking pool) and is bounded by
//! `mail.timeout`.

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use crate::config::MailSettings;

/// The subject of every mail (legacy wording).
pub const SUBJECT: &str = "StratusLab Marketplace Message";

/// A mail that could not be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailError(pub String);

impl std::fmt::Display for MailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MailError {}

/// Sends mail through the configured SMTP server.
#[derive(Debug, Clone)]
pub struct Mailer {
    settings: MailSettings,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for `settings`; fails when `admin.email` is not an address
    /// a mail can come from.
    pub fn new(settings: MailSettings) -> Result<Mailer, MailError> {
        let from = settings
            .admin
            .parse::<Mailbox>()
            .map_err(|e| MailError(format!("admin.email '{}': {e}", settings.admin)))?;
        Ok(Mailer { settings, from })
    }

    /// The administrator's address (`admin.email`).
    pub fn admin(&self) -> &str {
        &self.settings.admin
    }

    /// Whether `to` is an address a mail can go to.
    pub fn check_address(&self, to: &str) -> Result<(), MailError> {
        to.parse::<Mailbox>()
            .map(|_| ())
            .map_err(|e| MailError(format!("'{to}' is not an e-mail address: {e}")))
    }

    /// Send `body` (plain text) to `to`.
    pub fn send(&self, to: &str, body: String) -> Result<(), MailError> {
        let to = to
            .parse::<Mailbox>()
            .map_err(|e| MailError(format!("'{to}' is not an e-mail address: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(SUBJECT)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError(format!("cannot build the mail: {e}")))?;
        self.transport()?.send(&message).map_err(|e| {
            MailError(format!(
                "{}:{}: {e}",
                self.settings.host, self.settings.port
            ))
        })?;
        Ok(())
    }

    fn transport(&self) -> Result<SmtpTransport, MailError> {
        let s = &self.settings;
        let tls_error = |e: lettre::transport::smtp::Error| MailError(format!("TLS: {e}"));
        let parameters = TlsParameters::new(s.host.clone()).map_err(tls_error)?;
        let credentials = match (&s.user, &s.password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password.clone())),
            _ => None,
        };
        let tls = match (s.ssl, credentials.is_some()) {
            (true, _) => Tls::Wrapper(parameters),
            (false, true) => Tls::Required(parameters),
            (false, false) => Tls::Opportunistic(parameters),
        };
        let mut builder = SmtpTransport::builder_dangerous(s.host.clone())
            .port(s.port)
            .tls(tls)
            .timeout(Some(s.timeout));
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials);
        }
        Ok(builder.build())
    }
}

/// The confirmation mail of §6.1, with links under `base_url` (ending in
/// `/`).
pub fn confirmation(
    base_url: &str,
    id: &str,
    identifier: &str,
    created: &str,
    deprecating: bool,
) -> String {
    let what = if deprecating { "deprecating" } else { "for" };
    format!(
        "\nA new metadata entry {what} image ID {identifier},\n\
         endorsed at {created} with this email address,\n\
         has been uploaded to the StratusLab marketplace.\n\
         \n \
         Please either confirm or abort this request by visiting\n\
         one of the following links:\n\
         \n\
         Confirm:  {base_url}action/{id}/confirm/\n\
         \n\
         Abort:  {base_url}action/{id}/abort/\n\
         \n\
         If this metadata entry was not uploaded by you, please\n\
         indicate this by visiting the following address: \n\
         \n\
         Abuse:  {base_url}action/{id}/abuse/\n\
         \n\
         We will then investigate how this entry was uploaded.\n"
    )
}

/// The abuse report to the administrator (§6.1), with what the server
/// knows of the upload.
pub fn abuse(id: &str, key: &str, reporter: &str) -> String {
    format!(
        "\nAbuse has been reported for the following entry: {id}\n\
         \n\
         Entry: {key}\n\
         Reported from: {reporter}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirmation_mail_has_the_three_links() {
        let text = confirmation("http://mp/", "u-1", "ID", "2014-01-01T00:00:00Z", true);
        assert!(text.contains("A new metadata entry deprecating image ID ID,\n"));
        for action in ["confirm", "abort", "abuse"] {
            assert!(text.contains(&format!("http://mp/action/u-1/{action}/\n")));
        }
    }

    #[test]
    fn a_bad_sender_is_refused() {
        let settings = MailSettings {
            host: "localhost".into(),
            port: 25,
            user: None,
            password: None,
            ssl: false,
            admin: "not an address".into(),
            timeout: std::time::Duration::from_secs(1),
        };
        assert!(Mailer::new(settings).is_err());
    }
}
