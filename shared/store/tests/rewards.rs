//! Token ledger and leaderboard store tests against DynamoDB Local (`make test` starts it).

mod common;

use azora_domain::leaderboard::{
    EXACT_RANK_LIMIT, SHARDS, STATS_SAMPLE_SHARDS, StatsSnapshot, rank, shard_of, sort_key,
};
use azora_domain::payment::{OrderItem, Payment, PaymentStatus};
use azora_domain::tokens::{LedgerKind, LedgerRefusal, TokenAccount, Voucher, VoucherStatus};
use azora_domain::{Currency, Money, UserId};
use azora_store::leaderboard::{CallerRank, FollowOutcome, FollowRequestOutcome};
use azora_store::tokens::{Applied, Effect, EntryPlan, LedgerError, score_item};
use azora_store::{Store, StoreError};
use common::fresh_store;
use jiff::Timestamp;
use proptest::prelude::*;
use std::sync::Arc;

fn user(name: &str) -> UserId {
    UserId::parse(format!("{name}-{}", ulid::Ulid::new().to_string().to_lowercase())).unwrap()
}

async fn entry(store: &Store, u: &UserId, kind: LedgerKind, delta: i64, source: &str) -> Result<Applied, LedgerError> {
    let now = Timestamp::now();
    store.apply_entry(u, source, now, |acc| EntryPlan::simple(acc, kind, delta, "test", now)).await
}

/// The ledger's invariants: sequence 1..n, each balanceAfter the running sum, never negative,
/// and the account's balance the sum of all deltas.
async fn assert_ledger_consistent(store: &Store, u: &UserId) -> (TokenAccount, i64) {
    let account = store.token_account(u).await.unwrap();
    let entries = store.all_ledger_entries(u).await.unwrap();
    let mut running = 0i64;
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1, "entries are numbered without gaps");
        running += e.delta;
        assert_eq!(e.balance_after, running, "balanceAfter of entry {}", e.seq);
        assert!(running >= 0, "the balance went negative at entry {}", e.seq);
    }
    assert_eq!(account.balance, running, "balance = sum of the ledger");
    assert_eq!(account.version, entries.len() as u64);
    (account, running)
}

#[tokio::test]
async fn fifty_concurrent_redemptions_of_ten_on_a_balance_of_one_hundred() {
    let store = Arc::new(fresh_store("rewards-test").await);
    let u = user("spender");
    assert!(matches!(entry(&store, &u, LedgerKind::Award, 100, "seed").await.unwrap(), Applied::Written { .. }));
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (store, u) = (store.clone(), u.clone());
            tokio::spawn(async move { entry(&store, &u, LedgerKind::Redeem, -10, &format!("redeem#k{i}")).await })
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(Applied::Written { .. }) => ok += 1,
            Err(LedgerError::Refused(LedgerRefusal::InsufficientBalance { .. })) => refused += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((ok, refused), (10, 40));
    let (account, _) = assert_ledger_consistent(&store, &u).await;
    assert_eq!(account.balance, 0);
    assert_eq!(account.lifetime_redeemed, 100);
}

#[tokio::test]
async fn a_source_key_applies_once_ever_even_concurrently() {
    let store = Arc::new(fresh_store("rewards-test").await);
    let u = user("learner");
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (store, u) = (store.clone(), u.clone());
            tokio::spawn(async move { entry(&store, &u, LedgerKind::Award, 150, "completion#c1").await })
        })
        .collect();
    let mut written = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Applied::Written { .. } => written += 1,
            Applied::Duplicate { entry } => assert_eq!(entry.expect("the first entry").delta, 150),
        }
    }
    assert_eq!(written, 1);
    let (account, balance) = assert_ledger_consistent(&store, &u).await;
    assert_eq!((balance, account.lifetime_earned), (150, 150));
    // Later, even after the balance was spent, the same source is still a duplicate, not a refusal.
    entry(&store, &u, LedgerKind::Redeem, -150, "redeem#all").await.unwrap();
    assert!(matches!(
        entry(&store, &u, LedgerKind::Redeem, -150, "redeem#all").await.unwrap(),
        Applied::Duplicate { entry: Some(_) }
    ));
    assert!(matches!(
        entry(&store, &u, LedgerKind::Award, 150, "completion#c1").await.unwrap(),
        Applied::Duplicate { .. }
    ));
    assert_eq!(assert_ledger_consistent(&store, &u).await.1, 0);
}

#[tokio::test]
async fn history_is_newest_first_with_cursors() {
    let store = fresh_store("rewards-test").await;
    let u = user("reader");
    for i in 1..=5 {
        entry(&store, &u, LedgerKind::Award, i, &format!("s{i}")).await.unwrap();
    }
    let first = store.token_history(&u, 2, None).await.unwrap();
    assert_eq!(first.items.iter().map(|e| e.delta).collect::<Vec<_>>(), [5, 4]);
    let second = store.token_history(&u, 2, first.next_cursor.as_deref()).await.unwrap();
    assert_eq!(second.items.iter().map(|e| e.delta).collect::<Vec<_>>(), [3, 2]);
    let other = user("other");
    assert!(matches!(
        store.token_history(&other, 2, first.next_cursor.as_deref()).await,
        Err(StoreError::InvalidCursor)
    ));
}

fn payment_of(u: &UserId, id: &str, amount: i64, currency: Currency) -> Payment {
    let now = Timestamp::now();
    Payment {
        id: id.into(),
        user_id: u.clone(),
        buyer_email: None,
        buyer_name: None,
        tax_rate_bps: None,
        card: None,
        items: vec![OrderItem::Course {
            course_id: "c1".into(),
            title: "Course".into(),
            instructor_id: UserId::parse("instructor").unwrap(),
            price: Money::new(amount + 500, currency),
        }],
        amount: Money::new(amount, currency),
        status: PaymentStatus::RequiresPaymentMethod,
        stripe_payment_intent_id: None,
        refunded: 0,
        refundable: amount,
        receipt_number: None,
        created_at: now,
        updated_at: now,
        paid_at: None,
        fulfilled_at: None,
    }
}

#[tokio::test]
async fn a_voucher_is_created_with_its_debit_and_used_by_one_payment_only() {
    let store = fresh_store("rewards-test").await;
    let u = user("buyer");
    entry(&store, &u, LedgerKind::Award, 600, "seed").await.unwrap();
    let now = Timestamp::now();
    let voucher = Voucher {
        id: "vch_test1".into(),
        user_id: u.clone(),
        reward_id: "course_voucher_500".into(),
        discount: Money::new(500, Currency::Usd),
        cost: 500,
        status: VoucherStatus::Available,
        payment_id: None,
        created_at: now,
    };
    let applied = store
        .apply_entry(&u, "redeem#v1", now, |acc| {
            let mut plan = EntryPlan::simple(acc, LedgerKind::Redeem, -500, "redeem:course_voucher_500", now)?;
            plan.effect = Effect::Voucher(voucher.clone());
            Ok(plan)
        })
        .await
        .unwrap();
    assert!(matches!(applied, Applied::Written { .. }));
    assert_eq!(store.get_voucher(&u, "vch_test1").await.unwrap().unwrap().status, VoucherStatus::Available);
    assert_eq!(store.token_account(&u).await.unwrap().balance, 100);

    let eur = payment_of(&u, "pay_eur", 1499, Currency::Eur);
    let refused = store.create_payment_with_voucher(&eur, &voucher, Money::new(500, Currency::Eur), 1999).await;
    assert!(matches!(refused, Err(ref e) if e.failed_condition_at(1)), "currency must match: {refused:?}");
    assert!(store.get_payment("pay_eur").await.unwrap().is_none(), "nothing written");

    let first = payment_of(&u, "pay_1", 1499, Currency::Usd);
    store.create_payment_with_voucher(&first, &voucher, Money::new(500, Currency::Usd), 1999).await.unwrap();
    let second = payment_of(&u, "pay_2", 1499, Currency::Usd);
    let again = store.create_payment_with_voucher(&second, &voucher, Money::new(500, Currency::Usd), 1999).await;
    assert!(matches!(again, Err(ref e) if e.failed_condition_at(1)), "{again:?}");
    assert!(store.get_payment("pay_2").await.unwrap().is_none());
    let used = store.get_voucher(&u, "vch_test1").await.unwrap().unwrap();
    assert_eq!((used.status, used.payment_id.as_deref()), (VoucherStatus::Used, Some("pay_1")));
    let pv = store.payment_voucher("pay_1").await.unwrap().unwrap();
    assert_eq!((pv.voucher_id.as_str(), pv.discount.amount, pv.list_amount), ("vch_test1", 500, 1999));
    // The same payment again (a retried request) is a plain ConditionFailed.
    assert!(matches!(
        store.create_payment_with_voucher(&first, &voucher, Money::new(500, Currency::Usd), 1999).await,
        Err(StoreError::ConditionFailed)
    ));
}

#[tokio::test]
async fn pro_credits_extend_from_their_end_even_when_bought_concurrently() {
    let store = Arc::new(fresh_store("rewards-test").await);
    let u = user("pro");
    entry(&store, &u, LedgerKind::Award, 100, "seed").await.unwrap();
    let now = Timestamp::now();
    let tasks: Vec<_> = (0..3)
        .map(|i| {
            let (store, u) = (store.clone(), u.clone());
            tokio::spawn(async move {
                store
                    .apply_entry(&u, &format!("redeem#p{i}"), now, |acc| {
                        let mut plan = EntryPlan::simple(acc, LedgerKind::Redeem, -10, "redeem:pro_month", now)?;
                        plan.effect = Effect::ProCredit { days: 30 };
                        Ok(plan)
                    })
                    .await
            })
        })
        .collect();
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Ok(Applied::Written { pro_credit_until: Some(_), .. })));
    }
    let credit = store.pro_credit(&u).await.unwrap().expect("a credit");
    assert_eq!(credit.until.as_second(), (now + jiff::SignedDuration::from_hours(24 * 90)).as_second(), "3 × 30 days");
    assert_eq!(assert_ledger_consistent(&store, &u).await.1, 70);
    // The wallet's one read of both answers what the two reads answer.
    let (account, both_credit) = store.account_and_pro_credit(&u).await.unwrap();
    assert_eq!((account, both_credit), (store.token_account(&u).await.unwrap(), Some(credit)));
}

#[tokio::test]
async fn a_user_without_account_or_credit_reads_as_an_empty_wallet_in_one_read() {
    let store = fresh_store("rewards-test").await;
    let u = user("nobody");
    let (account, credit) = store.account_and_pro_credit(&u).await.unwrap();
    assert_eq!(account, TokenAccount::default());
    assert_eq!(credit, None);
    entry(&store, &u, LedgerKind::Award, 5, "first").await.unwrap();
    let (account, credit) = store.account_and_pro_credit(&u).await.unwrap();
    assert_eq!((account.balance, credit), (5, None), "an account without a credit");
}

/// `fan` asks to follow `other`, who accepts (at most `max` follows for the fan).
async fn follow_with_consent(store: &azora_store::Store, fan: &UserId, other: &UserId, max: u32) -> FollowOutcome {
    let now = Timestamp::now();
    store.request_follow(fan, other, now).await.unwrap();
    store.accept_follow(other, fan, max, now).await.unwrap()
}

#[tokio::test]
async fn follows_need_consent_and_are_counted_and_capped() {
    let store = fresh_store("rewards-test").await;
    let u = user("fan");
    let now = Timestamp::now();
    let (a, c) = (user("a"), user("c"));
    assert_eq!(store.request_follow(&u, &a, now).await.unwrap(), FollowRequestOutcome::Requested);
    assert_eq!(store.request_follow(&u, &a, now).await.unwrap(), FollowRequestOutcome::AlreadyRequested);
    assert!(store.following(&u).await.unwrap().is_empty(), "nothing before consent");
    assert_eq!(store.pending_follows(&u).await.unwrap(), [a.as_str()]);
    assert_eq!(store.follow_requests(&a).await.unwrap()[0].requester, u.as_str());
    assert_eq!(store.accept_follow(&a, &u, 2, now).await.unwrap(), FollowOutcome::Followed);
    assert_eq!(store.accept_follow(&a, &u, 2, now).await.unwrap(), FollowOutcome::NoRequest, "answered once");
    assert_eq!(store.request_follow(&u, &a, now).await.unwrap(), FollowRequestOutcome::AlreadyFollowing);
    assert!(store.pending_follows(&u).await.unwrap().is_empty() && store.follow_requests(&a).await.unwrap().is_empty());
    assert_eq!(follow_with_consent(&store, &u, &user("b"), 2).await, FollowOutcome::Followed);
    assert_eq!(follow_with_consent(&store, &u, &c, 2).await, FollowOutcome::LimitReached);
    assert_eq!(store.following(&u).await.unwrap().len(), 2);
    // A declined (withdrawn) request leaves nothing behind.
    assert!(store.withdraw_follow_request(&u, &c).await.unwrap());
    assert!(!store.withdraw_follow_request(&u, &c).await.unwrap());
    assert!(store.unfollow(&u, &a).await.unwrap());
    assert!(!store.unfollow(&u, &a).await.unwrap());
    assert_eq!(store.profile(&u).await.unwrap().follow_count, 1);
    assert_eq!(follow_with_consent(&store, &u, &c, 2).await, FollowOutcome::Followed);
}

/// A deterministic pseudo-random sequence (splitmix64) for reproducible data sets.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[tokio::test]
async fn leaderboard_top_n_rank_and_bands_match_a_brute_force_ranking() {
    let store = fresh_store("rewards-test").await;
    let period = "all";
    let mut rng = Rng(42);
    let base = Timestamp::from_second(1_780_000_000).unwrap();
    let users: Vec<(String, i64, Timestamp)> = (0..1500)
        .map(|i| {
            // Scores in a narrow range so that many users tie on score (ties break by time).
            let score = (rng.next() % 400) as i64 * 10;
            let at = base + jiff::SignedDuration::from_secs((rng.next() % 1_000_000) as i64);
            (format!("lb-user-{i:04}"), score, at)
        })
        .collect();
    let items = users.iter().map(|(u, score, at)| score_item(u, period, *score, *at, None)).collect();
    let requests = store.batch_put(items).await.unwrap();
    assert!(requests >= 60);

    let brute: Vec<(String, i128)> = users.iter().map(|(u, s, at)| (u.clone(), sort_key(*s, *at))).collect();
    let expected = rank(brute.clone(), 100);
    let top = store.leaderboard_top(period, 100).await.unwrap();
    assert_eq!(top.requests, SHARDS);
    assert_eq!(rank(top.entries, 100), expected, "top 100 = brute force");
    assert_eq!(rank(store.leaderboard_top(period, 7).await.unwrap().entries, 7), rank(brute.clone(), 7));

    // Exact rank below the top 100 and above 1,000; none beyond.
    let all = rank(brute.clone(), usize::MAX);
    for position in [0usize, 99, 100, 350, 998] {
        let r = &all[position];
        let ahead = store.count_ahead(period, r.key, EXACT_RANK_LIMIT).await.unwrap();
        assert_eq!(ahead.map(|a| a as u64 + 1), Some(r.rank), "rank of position {position}");
    }
    assert_eq!(store.count_ahead(period, all[1200].key, EXACT_RANK_LIMIT).await.unwrap(), None);

    // The statistics snapshot equals the cuts computed from the sampled shards by brute force.
    let now = Timestamp::now();
    let (snapshot, _) = store.compute_leaderboard_stats(period, now, None).await.unwrap();
    let sampled: Vec<i128> = brute.iter().filter(|(u, _)| shard_of(u) < STATS_SAMPLE_SHARDS).map(|(_, k)| *k).collect();
    assert_eq!(snapshot, StatsSnapshot::from_sample(sampled, STATS_SAMPLE_SHARDS, now));
    assert_eq!(store.leaderboard_stats(period).await.unwrap(), Some(snapshot.clone()));
    assert!((1000..=2200).contains(&snapshot.estimated_total), "{}", snapshot.estimated_total);
    assert_eq!(snapshot.band_of(all[1499].key), None, "the last user is in the bottom 25%");
    assert_eq!(snapshot.band_of(all[0].key), Some(1));
    // As the API asks: exact inside the top 1,000, the band beyond.
    assert_eq!(store.caller_rank(period, all[350].key).await.unwrap(), (CallerRank::Exact(all[350].rank), 1 + SHARDS));
    assert_eq!(
        store.caller_rank(period, all[1200].key).await.unwrap(),
        (CallerRank::Band { snapshot: Some(snapshot.clone()) }, 1 + SHARDS)
    );
    // Friends-style lookups read the same keys.
    let some: Vec<String> = users.iter().take(5).map(|u| u.0.clone()).collect();
    let keys = store.leaderboard_keys_of(&some, period).await.unwrap();
    assert_eq!(keys.len(), 5);
    assert_eq!(keys[&users[0].0], sort_key(users[0].1, users[0].2));
}

#[derive(Debug, Clone)]
enum Op {
    Award(i64),
    Redeem(i64),
    Reversal(i64),
    /// Replays the source key of an earlier operation (a redelivery).
    Replay(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1i64..200).prop_map(Op::Award),
        3 => (1i64..200).prop_map(Op::Redeem),
        1 => (1i64..100).prop_map(Op::Reversal),
        1 => (0usize..30).prop_map(Op::Replay),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Random award/redeem/reversal sequences, run as three concurrent streams with replayed
    /// source keys: the balance always equals the sum of the ledger and never goes negative.
    #[test]
    fn balance_always_equals_the_sum_of_the_ledger(ops in proptest::collection::vec(op(), 1..30)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let store = Arc::new(fresh_store("rewards-test").await);
            let u = user("prop");
            let ops = Arc::new(ops);
            let streams: Vec<_> = (0..3)
                .map(|stream| {
                    let (store, u, ops) = (store.clone(), u.clone(), ops.clone());
                    tokio::spawn(async move {
                        for (i, op) in ops.iter().enumerate().filter(|(i, _)| i % 3 == stream) {
                            let (kind, delta, source) = match op {
                                Op::Award(a) => (LedgerKind::Award, *a, format!("op#{i}")),
                                Op::Redeem(a) => (LedgerKind::Redeem, -*a, format!("op#{i}")),
                                Op::Reversal(a) => (LedgerKind::Reversal, *a, format!("op#{i}")),
                                Op::Replay(j) => (LedgerKind::Award, 1, format!("op#{j}")),
                            };
                            match entry(&store, &u, kind, delta, &source).await {
                                Ok(_) | Err(LedgerError::Refused(LedgerRefusal::InsufficientBalance { .. })) => {}
                                Err(e) => panic!("{e:?}"),
                            }
                        }
                    })
                })
                .collect();
            for s in streams {
                s.await.unwrap();
            }
            assert_ledger_consistent(&store, &u).await;
            // Every source key appears at most once.
            let entries = store.all_ledger_entries(&u).await.unwrap();
            let mut sources: Vec<&str> = entries.iter().map(|e| e.source_key.as_str()).collect();
            sources.sort_unstable();
            let before = sources.len();
            sources.dedup();
            assert_eq!(before, sources.len(), "a source key was applied twice");
        });
    }
}
