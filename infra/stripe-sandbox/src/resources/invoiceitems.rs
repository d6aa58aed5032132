//! Invoice items: a one-off amount for a customer, added as a line to a draft invoice (`invoice`).
//! Items left pending (no `invoice`) are stored but never pulled into an invoice; prices,
//! quantities, periods, discounts and tax rates are not modelled (400).

use serde_json::{Value, json};

use super::{int, metadata, overlay, s, set};
use crate::error::{ApiError, ApiResult};
use crate::fixtures::fixture;
use crate::router::{Ctx, Method, Route};

const CREATE: &[&str] = &[
    "amount",
    "currency",
    "customer",
    "customer_account",
    "description",
    "discountable",
    "discounts",
    "invoice",
    "metadata",
    "period",
    "price_data",
    "pricing",
    "quantity",
    "quantity_decimal",
    "subscription",
    "tax_behavior",
    "tax_code",
    "tax_rates",
    "unit_amount_decimal",
];
const UNSUPPORTED: &[&str] = &[
    "customer_account",
    "discounts",
    "period",
    "price_data",
    "pricing",
    "quantity",
    "quantity_decimal",
    "subscription",
    "tax_behavior",
    "tax_code",
    "tax_rates",
    "unit_amount_decimal",
];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::Post, "/v1/invoiceitems", CREATE, create),
        Route::new(Method::Get, "/v1/invoiceitems/{id}", &[], retrieve),
    ]
}

const KIND: &str = "invoiceitem";

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load(KIND, KIND, &id)
}

/// Creates the item; with `invoice` (a draft of the same customer and currency) it becomes one of
/// the invoice's lines and the invoice's totals grow by `amount`. Event `invoiceitem.created`.
fn create(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    super::reject_unsupported(p, UNSUPPORTED)?;
    let customer = p.required_str("customer")?;
    ctx.load_ref("customer", "customer", &customer, "customer")?;
    let amount = p.required_i64("amount")?;
    let currency = p.required_str("currency")?.to_ascii_lowercase();
    let invoice = match p.str("invoice")? {
        Some(id) => Some(ctx.load_ref("invoice", "invoice", &id, "invoice")?),
        None => None,
    };
    if let Some(inv) = &invoice {
        if s(inv, "status") != "draft" {
            return Err(ApiError::invalid(
                "invoice_not_editable",
                format!("You can only add invoice items to a draft invoice; {} is {}.", s(inv, "id"), s(inv, "status")),
            )
            .param("invoice"));
        }
        if s(inv, "customer") != customer || s(inv, "currency") != currency {
            return Err(ApiError::invalid_nocode(format!(
                "The invoice {} belongs to another customer or is in another currency.",
                s(inv, "id")
            ))
            .param("invoice"));
        }
    }
    let now = ctx.now();
    let id = crate::ids::new_id("ii");
    let description = p.str("description")?;
    let mut item = Value::Object(fixture(KIND)?);
    overlay(
        &mut item,
        json!({
            "id": id,
            "amount": amount,
            "currency": currency,
            "customer": customer,
            "customer_account": null,
            "date": now,
            "description": description,
            "discountable": p.bool("discountable")?.unwrap_or(true),
            "discounts": [],
            "invoice": invoice.as_ref().map(|i| s(i, "id")),
            "metadata": metadata(p, None)?,
            "net_amount": amount,
            "parent": null,
            "period": {"end": now, "start": now},
            "pricing": null,
            "proration": false,
            "quantity": 1,
            "quantity_decimal": "1",
            "tax_rates": [],
            "test_clock": null,
        }),
    );
    ctx.save(&item)?;
    if let Some(mut inv) = invoice {
        let line = line_of(&item, &inv)?;
        if let Some(data) = inv.pointer_mut("/lines/data").and_then(Value::as_array_mut) {
            data.insert(0, line);
        }
        let count = inv.pointer("/lines/data").and_then(Value::as_array).map_or(0, Vec::len);
        if let Some(lines) = inv.get_mut("lines") {
            set(lines, "total_count", json!(count));
        }
        let subtotal = int(&inv, "subtotal").saturating_add(amount);
        crate::billing::set_totals(&mut inv, subtotal);
        ctx.save(&inv)?;
    }
    ctx.emit("invoiceitem.created", &item);
    Ok(item)
}

/// The invoice line an item becomes.
fn line_of(item: &Value, invoice: &Value) -> ApiResult<Value> {
    let mut line = Value::Object(fixture("line_item")?);
    let now = int(item, "date");
    overlay(
        &mut line,
        json!({
            "id": crate::ids::new_id("il"),
            "object": "line_item",
            "amount": int(item, "amount"),
            "currency": s(item, "currency"),
            "description": item.get("description").cloned().unwrap_or(Value::Null),
            "discount_amounts": [],
            "discountable": item.get("discountable").cloned().unwrap_or(json!(true)),
            "discounts": [],
            "invoice": s(invoice, "id"),
            "livemode": false,
            "metadata": item.get("metadata").cloned().unwrap_or_else(|| json!({})),
            "parent": {
                "invoice_item_details": {
                    "invoice_item": s(item, "id"),
                    "proration": false,
                    "proration_details": {"credited_items": null},
                    "subscription": null,
                },
                "subscription_item_details": null,
                "type": "invoice_item_details",
            },
            "period": {"end": now, "start": now},
            "pretax_credit_amounts": [],
            "pricing": null,
            "quantity": 1,
            "quantity_decimal": "1",
            "subscription": null,
            "subtotal": int(item, "amount"),
            "taxes": [],
        }),
    );
    Ok(line)
}
