//! E-mail confirmation of uploads (marketplace.md §2.2 step 7, §2.11,
//! §6.1) and the reminder mails (§6.2), against a real SMTP server on
//! 127.0.0.1 (Debian's python3-aiosmtpd, started by each test): upload →
//! 202 → the mail with the right links → confirm → 201 and listed; abort;
//! abuse (the administrator's mail); a second confirm; the expiry of a
//! pending upload across restarts; the SMTP server down; the start-up
//! errors of missing mail settings; the expiry warning and the reminder on
//! the server's clock.

mod common;
mod market;
mod sigkit;
mod smtp;

use market::*;
use smtp::{link, SmtpServer};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn confirming(smtp: &SmtpServer, extra: &str) -> Options {
    Server::options().config(&format!("validate.email=true\n{}{extra}", smtp.config()))
}

/// The path (under the server) of a link in a mail.
fn path_of(server: &Server, url: &str) -> String {
    url.strip_prefix(&server.base)
        .unwrap_or_else(|| panic!("{url} is not under {}", server.base))
        .to_string()
}

/// The `/action/…` path of a link, whichever server wrote it.
fn action_path(url: &str) -> String {
    let start = url
        .find("/action/")
        .unwrap_or_else(|| panic!("{url} is not an action link"));
    url[start..].to_string()
}

#[test]
fn upload_mail_confirm_listed_and_a_second_confirm() {
    if !smtp::available() {
        return;
    }
    let smtp = SmtpServer::start();
    let server = confirming(&smtp, "").start();
    let reply = server.post(&indate());
    assert_eq!(reply.status, 202, "{}", reply.text());
    assert_eq!(
        reply.text(),
        "confirmation email sent for new metadata entry\n"
    );
    assert_eq!(reply.header("location"), None);
    // Not listed before it is confirmed.
    assert_eq!(server.get(&format!("/metadata/{BEE8}")).status, 404);
    let mail = smtp.wait_for(1, WAIT).remove(0);
    assert_eq!(mail.to, JANE);
    assert_eq!(mail.from, "admin@example.org");
    assert_eq!(mail.subject, "StratusLab Marketplace Message");
    assert!(
        mail.body
            .contains(&format!("A new metadata entry for image ID {BEE8},"))
            && mail.body.contains(&format!(
                "endorsed at {INDATE_CREATED} with this email address"
            )),
        "{}",
        mail.body
    );
    let confirm = link(&mail, "Confirm:");
    let uuid = confirm
        .strip_prefix(&format!("{}/action/", server.base))
        .and_then(|rest| rest.strip_suffix("/confirm/"))
        .unwrap_or_else(|| panic!("unexpected confirm link {confirm}"));
    assert_eq!(uuid.len(), 36, "a UUID: {uuid}");
    assert_eq!(
        link(&mail, "Abort:"),
        format!("{}/action/{uuid}/abort/", server.base)
    );
    assert_eq!(
        link(&mail, "Abuse:"),
        format!("{}/action/{uuid}/abuse/", server.base)
    );

    let reply = server.get(&path_of(&server, &confirm));
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.text(), "metadata entry created\n");
    assert_eq!(
        reply.header("location"),
        Some(format!("{}/metadata/{BEE8}/{JANE}/{INDATE_CREATED}", server.base).as_str())
    );
    let listed = server.get(&format!("/metadata/{BEE8}"));
    assert_eq!(listed.status, 200);
    assert_eq!(listed_identifiers(&listed), [BEE8]);
    // The link clicked again: nothing awaits confirmation any more.
    let again = server.request(
        "GET",
        &path_of(&server, &confirm),
        &[("Accept", "text/xml")],
        b"",
    );
    assert_eq!(again.status, 404);
    assert!(
        again.error_text().contains("awaits confirmation"),
        "{}",
        again.text()
    );
    // A browser gets the page of the outcome.
    let page = server.get_as(&path_of(&server, &confirm), "text/html");
    assert_eq!(
        (page.status, page.media_type().as_str()),
        (404, "text/html")
    );
}

#[test]
fn abort_drops_the_upload() {
    if !smtp::available() {
        return;
    }
    let smtp = SmtpServer::start();
    let server = confirming(&smtp, "").start();
    assert_eq!(server.post(&indate()).status, 202);
    let mail = smtp.wait_for(1, WAIT).remove(0);
    let abort = path_of(&server, &link(&mail, "Abort:"));
    let uuid = abort.split('/').nth(2).unwrap().to_string();
    let reply = server.get(&abort);
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.text(),
        format!("aborted addition of metadata entry {uuid}\n")
    );
    assert_eq!(
        server
            .get(&path_of(&server, &link(&mail, "Confirm:")))
            .status,
        404
    );
    assert_eq!(server.get(&format!("/metadata/{BEE8}")).status, 404);
    // An HTML page for a browser, titled as the legacy one.
    assert_eq!(server.post(&indate()).status, 202);
    let mail = smtp.wait_for(2, WAIT).remove(1);
    let page = server.get_as(&path_of(&server, &link(&mail, "Abort:")), "text/html");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<h1>Abort</h1>"), "{}", page.text());
    assert!(page.header("content-security-policy").is_some());
}

#[test]
fn abuse_mails_the_administrator_and_keeps_the_upload() {
    if !smtp::available() {
        return;
    }
    let smtp = SmtpServer::start();
    let server = confirming(&smtp, "").start();
    assert_eq!(server.post(&indate()).status, 202);
    let mail = smtp.wait_for(1, WAIT).remove(0);
    let abuse = path_of(&server, &link(&mail, "Abuse:"));
    let uuid = abuse.split('/').nth(2).unwrap().to_string();
    let reply = server.get(&abuse);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.text(),
        "administrators have been notified of the problem and may contact you during the investigation\n"
    );
    let report = smtp.wait_for(2, WAIT).remove(1);
    assert_eq!(report.to, "admin@example.org");
    assert!(
        report.body.contains(&format!(
            "Abuse has been reported for the following entry: {uuid}"
        )),
        "{}",
        report.body
    );
    assert!(report
        .body
        .contains(&format!("{BEE8}/{JANE}/{INDATE_CREATED}")));
    // The upload is kept: it can still be confirmed (or aborted).
    assert_eq!(
        server
            .get(&path_of(&server, &link(&mail, "Confirm:")))
            .status,
        201
    );
    // Unknown commands: 204; a short path: 404 naming the URL.
    assert_eq!(
        server.get(&format!("/action/{uuid}/frobnicate")).status,
        204
    );
    let short = server.request("GET", "/action/", &[("Accept", "text/xml")], b"");
    assert_eq!(short.status, 404);
    assert_eq!(
        short.error_text(),
        format!("invalid action: {}/action/", server.base)
    );
}

#[test]
fn confirm_checks_older_than_latest_again() {
    if !smtp::available() {
        return;
    }
    let smtp = SmtpServer::start();
    let server = confirming(&smtp, "").start();
    assert_eq!(server.post(&indate()).status, 202);
    assert_eq!(server.post(&newer()).status, 202);
    let mails = smtp.wait_for(2, WAIT);
    let (older, newer_mail) = if mails[0].body.contains(INDATE_CREATED) {
        (&mails[0], &mails[1])
    } else {
        (&mails[1], &mails[0])
    };
    assert_eq!(
        server
            .get(&path_of(&server, &link(newer_mail, "Confirm:")))
            .status,
        201
    );
    let reply = server.request(
        "GET",
        &path_of(&server, &link(older, "Confirm:")),
        &[("Accept", "text/xml")],
        b"",
    );
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.error_text(),
        "invalid metadata: older than latest entry"
    );
    // An upload older than the latest is refused at once, before any mail.
    let reply = server.request(
        "POST",
        "/metadata",
        &[("Content-Type", "application/xml"), ("Accept", "text/xml")],
        &indate(),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(smtp.mails().len(), 2);
    // A refused upload leaves nothing pending.
    let reply = server.post(&server_fixture("valid.xml"));
    assert_eq!(reply.status, 400);
}

#[test]
fn pending_uploads_survive_restarts_and_expire() {
    if !smtp::available() {
        return;
    }
    let smtp = SmtpServer::start();
    let data = tempfile::tempdir().unwrap();
    let config = format!(
        "validate.email=true\nupload.pending.hours=1\n{}",
        smtp.config()
    );
    let start = |now: &str| {
        Server::options()
            .config(&config)
            .data(data.path())
            .now(now)
            .start()
    };
    let mut server = start("2015-01-01T00:00:00Z");
    assert_eq!(server.post(&indate()).status, 202);
    assert_eq!(
        server.post(&server_fixture("valid-alternative.xml")).status,
        202
    );
    let mails = smtp.wait_for(2, WAIT);
    server.stop();
    // Half an hour later, after a restart: still there.
    let mut server = start("2015-01-01T00:30:00Z");
    // The restarted server listens on another port: keep the link's path.
    let first = action_path(&link(&mails[0], "Confirm:"));
    assert_eq!(server.get(&first).status, 201);
    server.stop();
    // Two hours later: expired (and dropped at start-up).
    let server = start("2015-01-01T02:00:00Z");
    let second = action_path(&link(&mails[1], "Confirm:"));
    let reply = server.request("GET", &second, &[("Accept", "text/xml")], b"");
    assert_eq!(reply.status, 404, "{}", reply.text());
    assert_eq!(
        server.get(&format!("/metadata/{BEE8}?status=all")).status,
        200
    );
}

#[test]
fn a_mail_server_down_leaves_the_upload_pending_and_says_so() {
    let port = smtp::free_port();
    let server = Server::options()
        .config(&format!(
            "validate.email=true\nmail.host=127.0.0.1\nmail.port={port}\nadmin.email=admin@example.org\nmail.timeout=5\n"
        ))
        .start();
    let reply = server.post(&indate());
    assert_eq!(reply.status, 202);
    assert!(
        reply
            .text()
            .contains("the confirmation email could not be sent"),
        "{}",
        reply.text()
    );
    // The mail server's failure is logged, not told to the uploader.
    assert!(
        !reply.text().contains("refused") && !reply.text().contains("127.0.0.1"),
        "{}",
        reply.text()
    );
    let log = server.log();
    assert!(log.contains("could not be sent"), "{log}");
    // The log names the pending upload; it can be confirmed with its id.
    let id = log
        .split("upload pending confirmation ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("no pending id in the log: {log}"))
        .to_string();
    assert_eq!(server.get(&format!("/action/{id}/confirm")).status, 201);
}

#[test]
fn missing_mail_settings_stop_start_up() {
    for (config, key) in [
        ("validate.email=true\n", "mail.host"),
        (
            "validate.email=true\nmail.host=localhost\nadmin.email=a@example.org\n",
            "mail.port",
        ),
        (
            "validate.email=true\nmail.host=localhost\nmail.port=25\n",
            "admin.email",
        ),
        (
            "endorser.reminder=true\nmail.port=25\nadmin.email=a@example.org\n",
            "mail.host",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("marketplace.cfg");
        std::fs::write(&path, config).unwrap();
        let output = market(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--config",
            path.to_str().unwrap(),
            "--data",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(common::code(&output), 2, "{config}");
        let stderr = common::stderr(&output);
        assert!(
            stderr.contains(&format!("'{key}' is required")),
            "{config}: {stderr}"
        );
    }
}

#[test]
fn expiry_warnings_and_reminders_on_the_server_clock() {
    if !smtp::available() {
        return;
    }
    let smtp = SmtpServer::start();
    let data = tempfile::tempdir().unwrap();
    // Two entries: one expiring on 2016-03-05 (BEE8), one in 2020.
    let mut server = Server::options().data(data.path()).start();
    server.upload(&indate());
    server.upload(alternative_newid());
    server.stop();
    let config = format!(
        "endorser.reminder=true\nmarketplace.endpoint=https://mp.example.org/marketplace/\n{}",
        smtp.config()
    );
    let start = |now: &str| {
        Server::options()
            .config(&config)
            .data(data.path())
            .now(now)
            .start()
    };
    let mut server = start("2016-03-03T12:00:00Z");
    let mails = smtp.wait_for(2, WAIT);
    let warning = mails
        .iter()
        .find(|m| m.body.contains("due to expire"))
        .expect("an expiry warning");
    assert_eq!(warning.to, JANE);
    assert!(
        warning.body.starts_with("Dear Marketplace user,"),
        "{}",
        warning.body
    );
    assert!(
        warning.body.contains(&format!("{BEE8}\texpires: 2016-03-05T14:12:57Z\n"))
            && warning.body.contains(&format!(
                "Retrieve entry: https://mp.example.org/marketplace/metadata/{BEE8}/{JANE}/{INDATE_CREATED}?media=xml"
            )),
        "{}",
        warning.body
    );
    assert!(
        !warning.body.contains(NEWID),
        "only the entries about to expire"
    );
    let reminder = mails
        .iter()
        .find(|m| m.body.contains("You are currently endorsing"))
        .expect("a reminder");
    assert!(
        reminder.body.starts_with("Dear Jane Tester,"),
        "{}",
        reminder.body
    );
    assert!(reminder.body.contains(&format!(
        "stratus-deprecate-metadata --email={JANE} <image id>"
    )));
    assert!(reminder.body.contains(BEE8) && reminder.body.contains(NEWID));
    server.stop();
    // An hour later: nothing is due again.
    let mut server = start("2016-03-03T13:00:00Z");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(smtp.mails().len(), 2, "no mail sent twice");
    server.stop();
    // A day later: the expiry warning again, not the reminder.
    let _server = start("2016-03-04T13:00:00Z");
    let mails = smtp.wait_for(3, WAIT);
    assert!(mails[2].body.contains("due to expire"), "{}", mails[2].body);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(smtp.mails().len(), 3);
}
