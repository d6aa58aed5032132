//! Rules about the source itself, checked by reading it: time comes only from the injected
//! [`crate::state::Clock`], so that tests and the local server can move it; handlers sit on top
//! of the services (nothing else uses `crate::handlers`); services converted to their own errors
//! know nothing of HTTP; and no module imports itself back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Reads of the system clock; `Instant::now` (durations, not dates) is fine anywhere.
const SYSTEM_CLOCK_READS: &[&str] = &["Timestamp::now(", "SystemTime::now(", "Zoned::now("];

/// The clock itself: `Clock::wall_time` is the one place that reads the system clock.
const CLOCK_FILE: &str = "state.rs";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, as (path relative to `dir` with `/`, contents).
fn sources(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.push((relative, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    assert!(!out.is_empty(), "no sources under {}", dir.display());
    out
}

#[test]
fn time_comes_only_from_the_injected_clock() {
    let this_file = file!().rsplit('/').next().unwrap_or_default();
    let api = sources(&crate_dir().join("src")).into_iter().map(|(f, s)| (format!("api/src/{f}"), s));
    let store = sources(&crate_dir().join("../store/src")).into_iter().map(|(f, s)| (format!("store/src/{f}"), s));
    let mut offenders = Vec::new();
    for (file, text) in api.chain(store) {
        if file == format!("api/src/{CLOCK_FILE}") || file == format!("api/src/{this_file}") {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            if SYSTEM_CLOCK_READS.iter().any(|read| line.contains(read)) {
                offenders.push(format!("{file}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "read the time from `state.clock.now()` (or take `now` as a parameter), not the system clock:\n{}",
        offenders.join("\n")
    );
    let clock = std::fs::read_to_string(crate_dir().join("src").join(CLOCK_FILE)).unwrap();
    let reads: usize = SYSTEM_CLOCK_READS.iter().map(|read| clock.matches(read).count()).sum();
    assert_eq!(reads, 1, "{CLOCK_FILE} reads the system clock in `Clock::wall_time` only");
}

/// Services done with their own errors: no HTTP type, status or `ApiError` in them; handlers map
/// their results, through `catalogue.rs`. (The others still return `ApiError`: issue #11.)
const HTTP_FREE_SERVICES: &[&str] = &[
    "billing",
    "checkout",
    "classes",
    "cognito",
    "courses",
    "leaderboards",
    "refunds",
    "payments",
    "payment_methods",
    "reports",
    "rewards",
    "rewards::wallet",
    "entitlements",
    "audit",
    "fault",
    "notify",
    "licensing",
    "licensing::licenses",
    "licensing::purchase",
    "licensing::usage",
    "licensing::white_label",
    "limits",
    "support",
    "subscriptions",
    // Scheduled jobs and queue workers: no HTTP (jobs and the Stripe-events worker fail with
    // `jobs::JobError`).
    "jobs",
    "jobs::error",
    "jobs::billing_cycle",
    "jobs::leaderboard_stats",
    "jobs::payouts",
    "jobs::reconcile",
    "licensing::cycle",
    "workers",
    "workers::email",
    "workers::rewards",
    "workers::stripe_events",
];
const HTTP_NAMES: &[&str] = &["lambda_http", "ApiError", "http::", "crate::http", "StatusCode"];

#[test]
fn services_know_nothing_of_http() {
    let mut offenders = Vec::new();
    for (file, text) in sources(&crate_dir().join("src")) {
        if !HTTP_FREE_SERVICES.contains(&module_name(&file).as_str()) {
            continue;
        }
        for line in code_of(&text).lines() {
            if HTTP_NAMES.iter().any(|name| line.contains(name)) {
                offenders.push(format!("{file}: {}", line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "return the service's own error; map it in catalogue.rs:\n{}", offenders.join("\n"));
}

/// `src/`-relative file → module path (`handlers/payments.rs` → `handlers::payments`).
fn module_name(file: &str) -> String {
    let path = file.trim_end_matches(".rs").trim_end_matches("/mod");
    if path == "lib" { "crate".to_string() } else { path.replace('/', "::") }
}

/// The code the crate is built from: comments and the unit tests at the end of a file left out.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The top-level items of a `use` group (the text after its `{`): `a::{b, c}, d}` → `a::{b, c}`, `d`.
fn group_items(group: &str) -> Vec<&str> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items
}

/// The paths a module's code names through `crate::` (and `super::`), groups expanded one level:
/// `use crate::{http, jobs::Budget}` names `http` and `jobs::Budget`.
fn named_paths(module: &str, code: &str) -> Vec<String> {
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect::<String>();
    let parent = module.rsplit_once("::").map(|(p, _)| p.to_string());
    let mut paths = Vec::new();
    for (prefix, base) in [("crate::", None), ("super::", parent.as_deref())] {
        for (at, _) in code.match_indices(prefix) {
            // `super::` of a top-level module is the crate root, which names nothing here.
            if prefix == "super::" && base.is_none() {
                continue;
            }
            let preceded_by_path = code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
            if preceded_by_path {
                continue;
            }
            let rest = &code[at + prefix.len()..];
            let heads = match rest.strip_prefix('{') {
                Some(group) => group_items(group).into_iter().map(|i| ident(i.trim())).collect(),
                None => vec![ident(rest)],
            };
            for head in heads.into_iter().filter(|h| !h.is_empty()) {
                let head = head.trim_end_matches(':').to_string();
                paths.push(match base {
                    Some(b) => format!("{b}::{head}"),
                    None => head,
                });
            }
        }
    }
    paths
}

/// Module → the other modules its code uses (each path resolved to the longest module it names).
fn module_uses() -> BTreeMap<String, BTreeSet<String>> {
    let this_file = file!().rsplit('/').next().unwrap_or_default();
    // This file's own examples are not imports.
    let files: Vec<_> = sources(&crate_dir().join("src")).into_iter().filter(|(f, _)| f != this_file).collect();
    let modules: BTreeSet<String> = files.iter().map(|(f, _)| module_name(f)).collect();
    let mut uses = BTreeMap::new();
    for (file, text) in &files {
        let module = module_name(file);
        let mut targets = BTreeSet::new();
        for path in named_paths(&module, &code_of(text)) {
            let parts: Vec<&str> = path.split("::").collect();
            let target = (1..=parts.len()).rev().map(|n| parts[..n].join("::")).find(|m| modules.contains(m));
            if let Some(target) = target.filter(|t| *t != module) {
                targets.insert(target);
            }
        }
        uses.insert(module, targets);
    }
    uses
}

#[test]
fn the_scan_sees_imports_in_every_form() {
    let code = "use crate::{http::{self, ok}, jobs};\nlet e = crate::error::gateway_error;\nsuper::batch_failures(f)";
    assert_eq!(
        named_paths("workers::email", code),
        ["http", "jobs", "error::gateway_error", "workers::batch_failures"]
    );
    assert_eq!(module_name("handlers/mod.rs"), "handlers");
    assert_eq!(module_name("rewards/config.rs"), "rewards::config");
    let uses = module_uses();
    assert!(uses["config"].contains("rewards::config"), "{:?}", uses["config"]);
    assert!(uses["functions"].contains("handlers"), "{:?}", uses["functions"]);
}

/// Handlers are the top layer: what they share with workers and jobs lives in a service module
/// (`payments`, `checkout`, `subscriptions`, `licensing`, ...), so nothing else imports them.
/// `functions` wires them to Lambda functions.
#[test]
fn only_the_function_table_uses_the_handlers() {
    let wiring = ["functions", "crate"];
    let offenders: Vec<String> = module_uses()
        .into_iter()
        .filter(|(module, _)| {
            module != "handlers" && !module.starts_with("handlers::") && !wiring.contains(&module.as_str())
        })
        .flat_map(|(module, uses)| {
            uses.into_iter()
                .filter(|u| u == "handlers" || u.starts_with("handlers::"))
                .map(move |u| format!("{module} uses {u}"))
        })
        .collect();
    assert!(offenders.is_empty(), "move what these use into a service module:\n{}", offenders.join("\n"));
}

/// No module uses itself back through others (e.g. `config` ↔ `rewards::config`, `payments` ↔
/// `handlers::payments`): a cycle means two modules that can only be understood together.
#[test]
fn no_module_imports_itself_back() {
    let uses = module_uses();
    fn cycle_from(
        uses: &BTreeMap<String, BTreeSet<String>>,
        module: &str,
        path: &mut Vec<String>,
        finished: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == module) {
            return Some(path[start..].iter().cloned().chain([module.to_string()]).collect());
        }
        if finished.contains(module) {
            return None;
        }
        path.push(module.to_string());
        for next in uses.get(module).into_iter().flatten() {
            if let Some(cycle) = cycle_from(uses, next, path, finished) {
                return Some(cycle);
            }
        }
        path.pop();
        finished.insert(module.to_string());
        None
    }
    let mut finished = BTreeSet::new();
    for module in uses.keys() {
        if let Some(cycle) = cycle_from(&uses, module, &mut Vec::new(), &mut finished) {
            panic!("module cycle: {}", cycle.join(" → "));
        }
    }
}
