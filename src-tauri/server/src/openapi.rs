//! The OpenAPI 3 document, generated from the handlers' annotations, and Swagger UI at `/docs`,
//! served from the binary (the UI files are vendored at build time: no CDN, no download).

use axum::Router;
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_swagger_ui::SwaggerUi;

use crate::{error, routes, state::AppState};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "StablePay POS API",
        description = "Self-hosted stablecoin checkout on BNB Smart Chain. Errors are `{\"error\":{\"code\",\"message\"}}` with stable codes. \
                       Merchant endpoints need `Authorization: Bearer <key>` when API keys are configured; customer endpoints need only the payment id."
    ),
    paths(
        routes::health::health,
        routes::payments::create,
        routes::payments::list,
        routes::payments::get_one,
        routes::payments::cancel,
        routes::payments::export_csv,
        routes::payments::qr_svg,
        routes::payments::qr_png,
        routes::payments::process,
        routes::payments::attach,
        routes::transfers::list,
        routes::catalog::tokens,
        routes::catalog::networks,
        routes::catalog::chain_status,
        routes::products::list,
        routes::products::create,
        routes::products::get_one,
        routes::products::update,
        routes::products::delete,
        routes::stats::payments,
        routes::stats::monitoring,
        routes::stats::system,
        routes::stats::websocket,
        routes::stats::messages,
        routes::stats::history,
        routes::stats::alerts,
        routes::display::current,
        routes::display::show,
        routes::metrics::metrics,
        routes::webhooks::list,
        routes::webhooks::create,
        routes::webhooks::remove,
        routes::webhooks::deliveries,
        routes::webhooks::redeliver,
        routes::settings::settings,
        routes::settings::update,
        routes::settings::test_endpoint,
        routes::pricing::pricing,
        routes::payments::remainder,
        routes::payments::tip,
        routes::receipts::receipt,
        routes::receipts::print,
        routes::refunds::create,
        routes::refunds::list,
        routes::refunds::get_one,
        routes::refunds::cancel,
        routes::refunds::check,
        routes::compat::create,
        routes::compat::cancel,
        routes::compat::checkout,
        routes::reports::close,
        routes::logo::upload,
        routes::logo::remove,
        routes::logo::image,
        routes::tickets::issue,
        routes::tickets::push_key,
        routes::pairing::start,
        routes::pairing::pair,
        routes::pairing::list,
        routes::pairing::revoke,
        routes::pairing::pair_counter,
        routes::pairing::list_counters,
        routes::pairing::revoke_counter,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerKey, &CommonErrors),
    tags(
        (name = "payments", description = "Payment sessions"),
        (name = "epusdt", description = "The epusdt / BEpusdt order protocol, signed with [compat.epusdt] token (answers in epusdt's envelope)"),
        (name = "refunds", description = "Refunds sent from the shop's own wallet, matched on chain"),
        (name = "catalog", description = "Accepted tokens and networks"),
        (name = "products", description = "The cashier's product grid"),
        (name = "transfers", description = "Transfers seen on chain, matched or not"),
        (name = "health", description = "Liveness and Prometheus metrics"),
        (name = "stats", description = "Monitoring figures, the WebSocket message log and alerts (seed §11)"),
        (name = "display", description = "What the customer display shows"),
        (name = "settings", description = "The effective configuration, the owner's changes to it, and the shop's logo"),
        (name = "webhooks", description = "Signed event deliveries to your systems"),
        (name = "auth", description = "Socket tickets (a key must not travel in a socket URL) and the key socket messages are signed with"),
        (name = "displays", description = "Pairing customer displays: a code from the owner buys a tablet a display-role token"),
        (name = "counters", description = "Counters of a hub: a desktop till paired with the same code gets a cashier-role token; its sales carry it and its display channel is its own"),
    )
)]
pub struct ApiDoc;

struct BearerKey;

/// Answers any operation can give besides its own: the HTTP layer's (bad JSON or query, missing
/// key, oversized body, wrong content type, rate limit) and the store's (busy). Added to every
/// operation that does not document them itself, so the document matches what the server does.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            content::ContentBuilder, path::Operation, response::ResponseBuilder, Ref, RefOr,
        };
        let common = [
            ("400", "Malformed JSON or query string"),
            (
                "401",
                "Missing or wrong API key (merchant endpoints, when keys are configured)",
            ),
            (
                "403",
                "The key's role may not do this, or a page of another origin tried to",
            ),
            ("404", "Unknown id or path"),
            ("405", "Method not allowed"),
            ("413", "Body over server.max_body_bytes"),
            ("421", "The request names a host this server does not serve"),
            ("415", "Body is not application/json"),
            ("422", "A field is invalid"),
            ("429", "Rate limited (see Retry-After)"),
            ("503", "Database busy or chain unavailable; retry"),
        ];
        let error = || -> RefOr<utoipa::openapi::response::Response> {
            RefOr::T(
                ResponseBuilder::new()
                    .description("Error: `{\"error\":{\"code\",\"message\"}}`")
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            let operations: [&mut Option<Operation>; 5] = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in operations.into_iter().flatten() {
                for (status, why) in common {
                    if !op.responses.responses.contains_key(status) {
                        let mut r = error();
                        if let RefOr::T(resp) = &mut r {
                            resp.description =
                                format!("{why}. Error: `{{\"error\":{{\"code\",\"message\"}}}}`");
                        }
                        op.responses.responses.insert(status.to_string(), r);
                    }
                }
            }
        }
    }
}

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A key from server.api_keys (admin) or [[server.keys]]; the scopes of an operation are the roles that may call it (admin, cashier, viewer, display). Operations without security are customer routes.",
                    ))
                    .build(),
            ),
        );
    }
}

/// `/api/openapi.json` and `/docs`.
pub fn router() -> Router<AppState> {
    SwaggerUi::new("/docs")
        .url("/api/openapi.json", ApiDoc::openapi())
        .into()
}
