//! Support tickets as conversations (issue #14 item 4): replies from the organisation and from
//! support staff, statuses with their transitions, an email on each reply to the other side, and
//! the support queue, oldest first.

use azora_e2e::{TestApp, error_code, json_of, spawn_app, unique};
use serde_json::{Value, json};

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    json_of(app.post(path, Some(token), Some(&unique("k")), &body).await).await
}

async fn queue(app: &TestApp, admin: &str) -> Vec<String> {
    let (status, page) = json_of(app.get("/api/admin/support/tickets?limit=100", Some(admin)).await).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().iter().map(|t| t["ticketId"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_ticket_is_a_conversation_with_statuses_emails_and_a_queue() {
    let app = spawn_app().await;
    let org = unique("org");
    let filer_email = format!("{}@example.com", unique("it"));
    let boss = app.token_with_email_and_org(&unique("boss"), &["enterprise"], &filer_email, Some(&org));
    let support = app.token(&unique("support"), &["admin"]);
    let file = |subject: &'static str| {
        let (app, boss) = (&app, boss.clone());
        async move {
            let body = json!({ "subject": subject, "body": "It does not work.", "priority": "high" });
            let (status, ticket) = post(app, "/api/enterprise/support/tickets", &boss, body).await;
            assert_eq!(status, 201, "{ticket}");
            ticket["ticketId"].as_str().unwrap().to_string()
        }
    };
    let first = file("Seats").await;
    let second = file("Invoices").await;
    let mine: Vec<String> = queue(&app, &support).await.into_iter().filter(|t| *t == first || *t == second).collect();
    assert_eq!(mine, [first.clone(), second.clone()], "oldest first");

    // Support answers: pending on the customer, out of the queue, the filer is emailed.
    let path = |t: &str, what: &str| format!("/api/enterprise/support/tickets/{t}/{what}");
    let key = unique("reply");
    let answer = json!({ "body": "Which license?" });
    let (status, reply) = json_of(app.post(&path(&first, "replies"), Some(&support), Some(&key), &answer).await).await;
    assert_eq!(
        (status, &reply["ticketStatus"], &reply["fromSupport"]),
        (201, &json!("pending_customer"), &json!(true)),
        "{reply}"
    );
    let (status, replay) = json_of(app.post(&path(&first, "replies"), Some(&support), Some(&key), &answer).await).await;
    assert_eq!((status, &replay["replyId"]), (201, &reply["replyId"]), "an idempotent replay");
    assert!(!queue(&app, &support).await.contains(&first));
    let emails = app.wait_for_emails(&filer_email, 1).await;
    assert!(
        emails.iter().any(|e| e["subject"].as_str().is_some_and(|s| s.starts_with("Re: support ticket"))
            && e.to_string().contains("Which license?")),
        "{emails:?}"
    );

    // The organisation answers: open again, back in the queue; support is emailed.
    let (status, reply) = post(&app, &path(&first, "replies"), &boss, json!({ "body": "The yearly one." })).await;
    assert_eq!((status, &reply["ticketStatus"]), (201, &json!("open")), "{reply}");
    assert!(queue(&app, &support).await.contains(&first));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !app.sent_emails("support@azora.local").await.iter().any(|e| e.to_string().contains("The yearly one.")) {
        assert!(std::time::Instant::now() < deadline, "support was not emailed the reply");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (_, ticket) = json_of(app.get(&format!("/api/enterprise/support/tickets/{first}"), Some(&boss)).await).await;
    let bodies: Vec<&str> = ticket["replies"].as_array().unwrap().iter().map(|r| r["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["Which license?", "The yearly one."]);

    // Transitions: only support parks a ticket on the customer; either side resolves; a reply
    // reopens; closed is final.
    let (status, body) = post(&app, &path(&first, "status"), &boss, json!({ "status": "pending_customer" })).await;
    assert_eq!((status, error_code(&body)), (409, "invalid_transition"));
    let (status, body) = post(&app, &path(&first, "status"), &boss, json!({ "status": "resolved" })).await;
    assert_eq!((status, &body["status"]), (200, &json!("resolved")), "{body}");
    assert!(!queue(&app, &support).await.contains(&first));
    let (status, body) = post(&app, &path(&first, "replies"), &boss, json!({ "body": "Sorry, one more thing." })).await;
    assert_eq!((status, &body["ticketStatus"]), (201, &json!("open")));
    let (status, _) = post(&app, &path(&first, "status"), &support, json!({ "status": "closed" })).await;
    assert_eq!(status, 200);
    let (status, body) = post(&app, &path(&first, "replies"), &boss, json!({ "body": "Hello?" })).await;
    assert_eq!((status, error_code(&body)), (409, "ticket_closed"));
    let (status, body) = post(&app, &path(&first, "status"), &support, json!({ "status": "open" })).await;
    assert_eq!((status, error_code(&body)), (409, "ticket_closed"));
    assert_eq!(queue(&app, &support).await.iter().filter(|t| **t == first).count(), 0);
    // Not support staff: no queue.
    let (status, _) = json_of(app.get("/api/admin/support/tickets", Some(&boss)).await).await;
    assert_eq!(status, 403);
}

/// Replies and moves racing on one ticket: each either applies whole or is refused (409), so the
/// conversation holds exactly the replies that were answered 201, and the ticket is in the support
/// queue exactly when its final status is `open`.
#[tokio::test]
async fn racing_replies_and_moves_leave_the_ticket_and_its_queue_entry_in_step() {
    let app = spawn_app().await;
    let org = unique("org");
    let boss = app.token_with_email_and_org(&unique("boss"), &["enterprise"], "boss@example.com", Some(&org));
    let support = app.token(&unique("support"), &["admin"]);
    let body = json!({ "subject": "Race", "body": "Who wins?", "priority": "normal" });
    let (status, ticket) = post(&app, "/api/enterprise/support/tickets", &boss, body).await;
    assert_eq!(status, 201, "{ticket}");
    let id = ticket["ticketId"].as_str().unwrap().to_string();
    let replies = format!("/api/enterprise/support/tickets/{id}/replies");
    let status_path = format!("/api/enterprise/support/tickets/{id}/status");

    for round in 0..3 {
        let mut calls = Vec::new();
        for (n, token) in [&boss, &support, &boss, &support].into_iter().enumerate() {
            let text = json!({ "body": format!("round {round} reply {n}") });
            calls.push(post(&app, &replies, token, text));
        }
        let moves = [(&boss, "resolved"), (&support, "pending_customer"), (&support, "open")];
        let moved = futures::future::join_all(
            moves.map(|(token, to)| post(&app, &status_path, token, json!({ "status": to }))),
        );
        let (answered, moved) = futures::join!(futures::future::join_all(calls), moved);
        for (status, body) in answered.iter().chain(moved.iter()) {
            assert!([200, 201, 409].contains(status), "round {round}: {status} {body}");
            if *status == 409 {
                assert!(["conflict", "invalid_transition"].contains(&error_code(body)), "{body}");
            }
        }
        let accepted = answered.iter().filter(|(status, _)| *status == 201).count();
        let (status, read) =
            json_of(app.get(&format!("/api/enterprise/support/tickets/{id}"), Some(&boss)).await).await;
        assert_eq!(status, 200, "{read}");
        let stored = read["replies"].as_array().unwrap();
        let this_round =
            stored.iter().filter(|r| r["body"].as_str().unwrap().starts_with(&format!("round {round} "))).count();
        assert_eq!(this_round, accepted, "round {round}: every reply answered 201 is stored, and only those");
        let queued = queue(&app, &support).await.contains(&id);
        assert_eq!(queued, read["status"] == "open", "round {round}: in the queue exactly when open: {read}");
    }
}
