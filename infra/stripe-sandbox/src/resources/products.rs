//! Products: create (optionally with `default_price_data`), retrieve, update, delete, list.
//! Events `product.created`, `product.updated` (with `previous_attributes`), `product.deleted`.

use serde_json::{Value, json};

use super::{check_members, metadata, one_of, overlay, prices, reject_unsupported, s, set};
use crate::error::{ApiError, ApiResult};
use crate::fixtures::fixture;
use crate::ids;
use crate::listing::list_response;
use crate::params::Params;
use crate::router::{Ctx, Method, Route};

const CREATE: &[&str] = &[
    "active",
    "default_price_data",
    "description",
    "id",
    "images",
    "marketing_features",
    "metadata",
    "name",
    "package_dimensions",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "tax_details",
    "type",
    "unit_label",
    "url",
];
const UPDATE: &[&str] = &[
    "active",
    "default_price",
    "description",
    "images",
    "marketing_features",
    "metadata",
    "name",
    "package_dimensions",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "tax_details",
    "unit_label",
    "url",
];
const LIST: &[&str] =
    &["active", "created", "ending_before", "ids", "limit", "shippable", "starting_after", "type", "url"];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::Post, "/v1/products", CREATE, create),
        Route::new(Method::Get, "/v1/products", LIST, list),
        Route::new(Method::Get, "/v1/products/{id}", &[], retrieve),
        Route::new(Method::Post, "/v1/products/{id}", UPDATE, update),
        Route::new(Method::Delete, "/v1/products/{id}", &[], delete),
    ]
}

const KIND: &str = "product";
const LABEL: &str = "product";

fn create(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    reject_unsupported(p, &["marketing_features", "package_dimensions", "tax_code", "tax_details"])?;
    let name = p.required_str("name")?;
    let id = match p.str("id")? {
        Some(id) => {
            if ctx.store.stored(&id).is_some() {
                return Err(ApiError::invalid("resource_already_exists", "Product already exists.").param("id"));
            }
            id
        }
        None => ids::new_id("prod"),
    };
    let now = ctx.now();
    let mut product = Value::Object(fixture("product")?);
    overlay(
        &mut product,
        json!({
            "id": id,
            "object": "product",
            "active": p.bool("active")?.unwrap_or(true),
            "created": now,
            "default_price": null,
            "description": null,
            "images": [],
            "livemode": false,
            "marketing_features": [],
            "metadata": {},
            "name": name,
            "package_dimensions": null,
            "shippable": null,
            "statement_descriptor": null,
            "tax_code": null,
            "type": one_of(p, "type", &["good", "service"])?.unwrap_or_else(|| "service".into()),
            "unit_label": null,
            "updated": now,
            "url": null,
        }),
    );
    apply(p, &mut product)?;
    // The price of `default_price_data` is created first, as on Stripe (`price.created` then
    // `product.created`).
    let default_price = match p.object("default_price_data")?.flatten() {
        Some(data) => {
            check_members(
                data,
                "default_price_data",
                &[
                    "currency",
                    "currency_options",
                    "metadata",
                    "recurring",
                    "tax_behavior",
                    "unit_amount",
                    "unit_amount_decimal",
                ],
            )?;
            let spec = prices::PriceSpec::from_map(data, "default_price_data")?;
            let price = prices::build(ctx, &spec, &id, now)?;
            Some(price)
        }
        None => None,
    };
    if let Some(price) = &default_price {
        set(&mut product, "default_price", price.get("id").cloned().unwrap_or(Value::Null));
    }
    ctx.save(&product)?;
    if let Some(price) = default_price {
        ctx.save(&price)?;
        ctx.emit("price.created", &price);
    }
    ctx.emit("product.created", &product);
    Ok(product)
}

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load(KIND, LABEL, &id)
}

fn update(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    reject_unsupported(p, &["marketing_features", "package_dimensions", "tax_code", "tax_details"])?;
    let id = ctx.path(0).to_string();
    let old = live(ctx, &id)?;
    let mut product = old.clone();
    if let Some(name) = p.str("name")? {
        set(&mut product, "name", json!(name));
    } else if p.has("name") {
        return Err(ApiError::invalid_nocode("You cannot unset the name of a product.").param("name"));
    }
    if let Some(active) = p.bool("active")? {
        set(&mut product, "active", json!(active));
    }
    if let Some(price) = p.nullable_str("default_price")? {
        if let Some(price_id) = &price {
            let found = ctx.load_ref("price", "price", price_id, "default_price")?;
            if s(&found, "product") != id {
                return Err(ApiError::invalid_nocode(format!(
                    "The price {price_id} does not belong to the product {id}."
                ))
                .param("default_price"));
            }
        }
        set(&mut product, "default_price", json!(price));
    }
    apply(p, &mut product)?;
    if product != old {
        set(&mut product, "updated", json!(ctx.now()));
    }
    ctx.save(&product)?;
    ctx.emit_updated("product.updated", &old, &product);
    Ok(product)
}

fn delete(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let product = live(ctx, &id)?;
    let has_prices = ctx.store.list("price", ctx.account()).iter().any(|price| s(price, "product") == id);
    if has_prices {
        return Err(ApiError::invalid_nocode(
            "This product cannot be deleted because it has one or more user-created prices.",
        ));
    }
    let mut deleted = Value::Object(fixture("deleted_product")?);
    set(&mut deleted, "id", json!(id));
    ctx.save(&deleted)?;
    ctx.emit("product.deleted", &product);
    Ok(deleted)
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    let active = p.bool("active")?;
    let shippable = p.bool("shippable")?;
    let ids = p.str_list("ids")?;
    let kind = one_of(p, "type", &["good", "service"])?;
    let url = p.str("url")?;
    let items: Vec<Value> = ctx
        .store
        .list(KIND, ctx.account())
        .into_iter()
        .filter(|x| active.is_none_or(|a| x.get("active") == Some(&json!(a))))
        .filter(|x| shippable.is_none_or(|a| x.get("shippable") == Some(&json!(a))))
        .filter(|x| ids.as_ref().is_none_or(|ids| ids.iter().any(|i| i == s(x, "id"))))
        .filter(|x| kind.as_deref().is_none_or(|k| s(x, "type") == k))
        .filter(|x| url.as_deref().is_none_or(|u| s(x, "url") == u))
        .cloned()
        .collect();
    list_response(items, "/v1/products", ctx.params)
}

/// A product that exists and is not deleted.
fn live(ctx: &Ctx<'_>, id: &str) -> ApiResult<Value> {
    let product = ctx.load(KIND, LABEL, id)?;
    if product.get("deleted") == Some(&Value::Bool(true)) {
        return Err(ApiError::not_found(LABEL, id));
    }
    Ok(product)
}

/// The writable fields shared by create and update.
fn apply(p: &Params, product: &mut Value) -> ApiResult<()> {
    for key in ["description", "statement_descriptor", "unit_label", "url"] {
        if let Some(v) = p.nullable_str(key)? {
            set(product, key, json!(v));
        }
    }
    if let Some(shippable) = p.bool("shippable")? {
        set(product, "shippable", json!(shippable));
    }
    if let Some(images) = p.str_list("images")? {
        set(product, "images", json!(images));
    }
    let current = product.get("metadata").cloned();
    set(product, "metadata", metadata(p, current.as_ref())?);
    Ok(())
}
