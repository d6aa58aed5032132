//! A stand-in for a DNS-over-HTTPS resolver's JSON API (`GET /dns-query?name=&type=TXT`, as
//! Cloudflare's and Google's answer with `accept: application/dns-json`), serving the TXT records
//! a test sets through the control API (`POST /_sandbox/dns/txt {"name", "values"}`; an empty
//! list removes the name). Names are compared lower-case without a trailing dot.

use serde_json::{Value, json};

/// The DNS type number of TXT records.
const TXT: u16 = 16;

pub fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The JSON answer for a query (`Status` 0 with the records, or 3, NXDOMAIN, without).
pub fn answer(records: Option<&Vec<String>>, name: &str, qtype: &str) -> Value {
    let question = json!([{ "name": name, "type": TXT }]);
    let wants_txt = qtype.eq_ignore_ascii_case("TXT") || qtype == "16";
    match records.filter(|r| wants_txt && !r.is_empty()) {
        Some(values) => {
            let answers: Vec<Value> = values
                .iter()
                .map(|v| json!({ "name": format!("{name}."), "type": TXT, "TTL": 60, "data": format!("\"{v}\"") }))
                .collect();
            json!({ "Status": 0, "TC": false, "RD": true, "RA": true, "AD": false, "CD": false,
                    "Question": question, "Answer": answers })
        }
        None => json!({ "Status": if wants_txt { 3 } else { 0 }, "TC": false, "RD": true, "RA": true, "AD": false,
                        "CD": false, "Question": question }),
    }
}

/// The value of query parameter `key` (percent-decoded).
pub fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_like_a_doh_json_api() {
        let records = vec!["azora-verify=abc".to_string()];
        let a = answer(Some(&records), "_azora-verify.learn.acme.com", "TXT");
        assert_eq!(a["Status"], 0);
        assert_eq!(a["Answer"][0]["data"], "\"azora-verify=abc\"");
        assert_eq!(answer(None, "x.example", "TXT")["Status"], 3);
        assert_eq!(normalize("Learn.ACME.com."), "learn.acme.com");
        assert_eq!(query_param(Some("name=a.b&type=TXT"), "type").as_deref(), Some("TXT"));
    }
}
