//! The optional Cognito user pool's pre-token-generation trigger (event version 2, template.yaml's
//! `CognitoPreTokenFunction`): the user's groups become the token's `roles` claim and their
//! `custom:org` attribute its `org` claim — the claims the API authorizes by (`auth.rs`), so a
//! Cognito ID token is read exactly like any other issuer's. A user in none of the known groups
//! is a `student`; `service` is never granted to a person.

use azora_domain::{OrgId, Role};
use serde_json::{Map, Value, json};

/// The event with its `response` filled in, as Cognito expects the trigger to return it.
pub fn pre_token_generation(mut event: Value) -> Value {
    let mut roles: Vec<&'static str> = event
        .pointer("/request/groupConfiguration/groupsToOverride")
        .and_then(Value::as_array)
        .map(|groups| groups.iter().filter_map(Value::as_str).filter_map(Role::parse).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|r| *r != Role::Service)
        .map(Role::as_str)
        .collect();
    roles.sort_unstable();
    roles.dedup();
    if roles.is_empty() {
        roles.push(Role::Student.as_str());
    }
    let mut claims = Map::new();
    claims.insert("roles".into(), json!(roles));
    let org = event.pointer("/request/userAttributes/custom:org").and_then(Value::as_str).map(str::trim);
    if let Some(org) = org.filter(|o| !o.is_empty()).and_then(|o| OrgId::parse(o).ok()) {
        claims.insert("org".into(), json!(org.as_str()));
    }
    let claims = Value::Object(claims);
    event["response"] = json!({
        "claimsAndScopeOverrideDetails": {
            "idTokenGeneration": { "claimsToAddOrOverride": claims.clone() },
            "accessTokenGeneration": { "claimsToAddOrOverride": claims },
        }
    });
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(groups: Value, org: Option<&str>) -> Value {
        let mut attributes = json!({ "sub": "8f2b1c9e-1111-2222-3333-444455556666", "email": "ada@example.com" });
        if let Some(org) = org {
            attributes["custom:org"] = json!(org);
        }
        json!({
            "version": "2",
            "triggerSource": "TokenGeneration_HostedAuth",
            "request": { "userAttributes": attributes, "groupConfiguration": { "groupsToOverride": groups } },
            "response": { "claimsAndScopeOverrideDetails": null }
        })
    }

    fn claims(out: &Value) -> &Value {
        &out["response"]["claimsAndScopeOverrideDetails"]["idTokenGeneration"]["claimsToAddOrOverride"]
    }

    #[test]
    fn groups_become_roles_and_the_org_attribute_the_org_claim() {
        let out = pre_token_generation(event(json!(["instructor", "enterprise", "instructor"]), Some("acme")));
        assert_eq!(claims(&out), &json!({ "roles": ["enterprise", "instructor"], "org": "acme" }));
        assert_eq!(
            out["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]["claimsToAddOrOverride"],
            *claims(&out)
        );
        assert_eq!(out["triggerSource"], "TokenGeneration_HostedAuth", "the rest of the event is returned as it came");
    }

    #[test]
    fn no_known_group_is_a_student_and_service_is_never_granted() {
        for groups in [json!([]), json!(["Editors", "service"]), json!(null)] {
            let out = pre_token_generation(event(groups.clone(), None));
            assert_eq!(claims(&out), &json!({ "roles": ["student"] }), "{groups}");
        }
        let out = pre_token_generation(event(json!(["admin", "service"]), Some("  ")));
        assert_eq!(claims(&out), &json!({ "roles": ["admin"] }), "a blank org is no org");
    }

    #[test]
    fn an_org_attribute_that_is_not_a_valid_id_is_left_out() {
        let out = pre_token_generation(event(json!(["enterprise"]), Some("acme#corp")));
        assert_eq!(claims(&out), &json!({ "roles": ["enterprise"] }));
    }
}
