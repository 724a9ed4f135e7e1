//! Owner settings written back into the TOML file (issue 18): the Settings screen and the first-run
//! setup change the very file the server reads, with `toml_edit`, so the owner's comments and every
//! key they did not touch stay as they were — the file and the app never disagree. The new text is
//! validated like any file (the caller loads it through the same layers) before it is written.
//!
//! What the file cannot say still wins over it: an environment variable or a command-line flag for
//! the same key (the layers of [`super`]). The Settings screen says which keys are held that way.

use toml_edit::{value, Array, ArrayOfTables, DocumentMut, Item, Table};

use super::{chain::builtin_tokens, Config};
use crate::{catalog::Token, error::CoreError};

/// What the owner changes; `None` leaves a key as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsChange {
    /// `merchant.name`.
    pub shop_name: Option<String>,
    /// `merchant.receive_address` (`""` unsets it).
    pub receive_address: Option<String>,
    /// `payments.confirmations`.
    pub confirmations: Option<u32>,
    /// `payments.require_finalized`.
    pub require_finalized: Option<bool>,
    /// `payments.expiry_seconds`.
    pub expiry_seconds: Option<u64>,
    /// `payments.max_amount`.
    pub max_amount: Option<String>,
    /// The accepted tokens, by symbol, among those the shop knows (the file's and the built-in
    /// ones): written as the whole `[[tokens]]` list, contracts included, so nobody retypes one.
    pub tokens: Option<Vec<String>>,
    /// The first network's `rpc_urls`.
    pub rpc_urls: Option<Vec<String>>,
    /// The first network's `ws_urls`.
    pub ws_urls: Option<Vec<String>>,
    /// `[alerts]` thresholds, by key (`max_api_p95_ms`, `min_success_rate`, …): the dashboard's
    /// threshold editor.
    pub alerts: Vec<(AlertThreshold, f64)>,
    /// `pricing.currency` (ISO 4217).
    pub pricing_currency: Option<String>,
    /// `pricing.source` (`fixed`, `coingecko`, `coinbase`).
    pub pricing_source: Option<String>,
    /// `pricing.rate` (the fixed rate, shop-currency units per token unit).
    pub pricing_rate: Option<String>,
    /// `pricing.markup_percent`.
    pub pricing_markup_percent: Option<String>,
    /// `receipts.printer` (`""`: none).
    pub receipt_printer: Option<String>,
    /// `receipts.auto_print`.
    pub receipt_auto_print: Option<bool>,
    /// `receipts.address` lines.
    pub receipt_address: Option<Vec<String>>,
    /// `receipts.footer`.
    pub receipt_footer: Option<String>,
    /// `tips.choices` (percent; empty: no tips).
    pub tip_choices: Option<Vec<u32>>,
    /// `compat.epusdt.token` (`""`: the protocol off).
    pub epusdt_token: Option<String>,
    /// `compat.epusdt.redirect_hosts`.
    pub epusdt_redirect_hosts: Option<Vec<String>>,
}

/// A threshold of `[alerts]` the owner may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertThreshold {
    /// `alerts.min_success_rate` (percent).
    MinSuccessRate,
    /// `alerts.max_error_rate` (percent).
    MaxErrorRate,
    /// `alerts.max_api_p95_ms`.
    MaxApiP95Ms,
    /// `alerts.max_push_latency_ms`.
    MaxPushLatencyMs,
    /// `alerts.max_blocks_behind`.
    MaxBlocksBehind,
}

impl AlertThreshold {
    /// The key in `[alerts]`.
    pub fn key(self) -> &'static str {
        match self {
            AlertThreshold::MinSuccessRate => "min_success_rate",
            AlertThreshold::MaxErrorRate => "max_error_rate",
            AlertThreshold::MaxApiP95Ms => "max_api_p95_ms",
            AlertThreshold::MaxPushLatencyMs => "max_push_latency_ms",
            AlertThreshold::MaxBlocksBehind => "max_blocks_behind",
        }
    }

    /// The file's full name, e.g. `alerts.max_api_p95_ms`.
    pub fn path(self) -> &'static str {
        match self {
            AlertThreshold::MinSuccessRate => "alerts.min_success_rate",
            AlertThreshold::MaxErrorRate => "alerts.max_error_rate",
            AlertThreshold::MaxApiP95Ms => "alerts.max_api_p95_ms",
            AlertThreshold::MaxPushLatencyMs => "alerts.max_push_latency_ms",
            AlertThreshold::MaxBlocksBehind => "alerts.max_blocks_behind",
        }
    }
}

impl SettingsChange {
    /// The keys it changes, as the file spells them (for the audit trail).
    pub fn keys(&self) -> Vec<&'static str> {
        [
            (self.shop_name.is_some(), "merchant.name"),
            (self.receive_address.is_some(), "merchant.receive_address"),
            (self.confirmations.is_some(), "payments.confirmations"),
            (
                self.require_finalized.is_some(),
                "payments.require_finalized",
            ),
            (self.expiry_seconds.is_some(), "payments.expiry_seconds"),
            (self.max_amount.is_some(), "payments.max_amount"),
            (self.tokens.is_some(), "tokens"),
            (self.rpc_urls.is_some(), "networks.rpc_urls"),
            (self.ws_urls.is_some(), "networks.ws_urls"),
            (self.pricing_currency.is_some(), "pricing.currency"),
            (self.pricing_source.is_some(), "pricing.source"),
            (self.pricing_rate.is_some(), "pricing.rate"),
            (
                self.pricing_markup_percent.is_some(),
                "pricing.markup_percent",
            ),
            (self.receipt_printer.is_some(), "receipts.printer"),
            (self.receipt_auto_print.is_some(), "receipts.auto_print"),
            (self.receipt_address.is_some(), "receipts.address"),
            (self.receipt_footer.is_some(), "receipts.footer"),
            (self.tip_choices.is_some(), "tips.choices"),
            (self.epusdt_token.is_some(), "compat.epusdt.token"),
            (
                self.epusdt_redirect_hosts.is_some(),
                "compat.epusdt.redirect_hosts",
            ),
        ]
        .into_iter()
        .filter_map(|(changed, key)| changed.then_some(key))
        .chain(self.alerts.iter().map(|(t, _)| t.path()))
        .collect()
    }
}

/// Every token the shop may accept: the configured ones, then the built-in ones it left out.
pub fn known_tokens(current: &Config) -> Vec<Token> {
    let mut known = current.tokens.clone();
    for t in builtin_tokens(&current.payments) {
        if !known
            .iter()
            .any(|k| k.symbol == t.symbol && k.network == t.network)
        {
            known.push(t);
        }
    }
    known
}

/// `text` (the file as it is, `""` when there is none yet) with `change` applied; `current` is the
/// configuration in force (for the tokens and networks the file may not list).
pub fn apply(text: &str, change: &SettingsChange, current: &Config) -> Result<String, CoreError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| CoreError::Config(format!("the config file is not valid TOML: {e}")))?;
    let mut set = |section: &str, key: &str, item: Item| {
        let table = doc
            .entry(section)
            .or_insert_with(|| Item::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(|| CoreError::Config(format!("{section}: is not a table in the file")))?;
        put(table, key, item);
        Ok::<(), CoreError>(())
    };
    if let Some(name) = &change.shop_name {
        set("merchant", "name", value(name.trim()))?;
    }
    if let Some(address) = &change.receive_address {
        set("merchant", "receive_address", value(address.trim()))?;
    }
    if let Some(n) = change.confirmations {
        set("payments", "confirmations", value(i64::from(n)))?;
    }
    if let Some(b) = change.require_finalized {
        set("payments", "require_finalized", value(b))?;
    }
    if let Some(s) = change.expiry_seconds {
        let s = i64::try_from(s).map_err(|_| bad_value("payments.expiry_seconds"))?;
        set("payments", "expiry_seconds", value(s))?;
    }
    if let Some(max) = &change.max_amount {
        set("payments", "max_amount", value(max.trim()))?;
    }
    for (key, v) in [
        ("currency", &change.pricing_currency),
        ("source", &change.pricing_source),
        ("rate", &change.pricing_rate),
        ("markup_percent", &change.pricing_markup_percent),
    ] {
        if let Some(v) = v {
            set("pricing", key, value(v.trim()))?;
        }
    }
    if let Some(p) = &change.receipt_printer {
        set("receipts", "printer", value(p.trim()))?;
    }
    if let Some(b) = change.receipt_auto_print {
        set("receipts", "auto_print", value(b))?;
    }
    if let Some(lines) = &change.receipt_address {
        set("receipts", "address", Item::Value(strings(lines).into()))?;
    }
    if let Some(f) = &change.receipt_footer {
        set("receipts", "footer", value(f.trim()))?;
    }
    if let Some(choices) = &change.tip_choices {
        let list: Array = choices.iter().map(|p| i64::from(*p)).collect();
        set("tips", "choices", Item::Value(list.into()))?;
    }
    for (threshold, v) in &change.alerts {
        let item = match threshold {
            AlertThreshold::MaxBlocksBehind => value(v.max(0.0).round() as i64),
            _ => value(*v),
        };
        set("alerts", threshold.key(), item)?;
    }
    if change.epusdt_token.is_some() || change.epusdt_redirect_hosts.is_some() {
        let compat = doc
            .entry("compat")
            .or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(true);
                Item::Table(t)
            })
            .as_table_mut()
            .ok_or_else(|| CoreError::Config("compat: is not a table in the file".into()))?;
        let epusdt = compat
            .entry("epusdt")
            .or_insert_with(|| Item::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(|| CoreError::Config("compat.epusdt: is not a table in the file".into()))?;
        if let Some(token) = &change.epusdt_token {
            put(epusdt, "token", value(token.trim()));
        }
        if let Some(hosts) = &change.epusdt_redirect_hosts {
            put(epusdt, "redirect_hosts", Item::Value(strings(hosts).into()));
        }
    }
    if let Some(symbols) = &change.tokens {
        doc["tokens"] = Item::ArrayOfTables(tokens_table(symbols, current)?);
    }
    if change.rpc_urls.is_some() || change.ws_urls.is_some() {
        set_endpoints(&mut doc, change, current)?;
    }
    Ok(doc.to_string())
}

/// Sets `key` to `item`, keeping the comments around the value it replaces (`# on the display`).
fn put(table: &mut Table, key: &str, mut item: Item) {
    if let (Some(old), Some(new)) = (table.get(key).and_then(Item::as_value), item.as_value_mut()) {
        *new.decor_mut() = old.decor().clone();
    }
    table[key] = item;
}

fn bad_value(key: &str) -> CoreError {
    CoreError::Config(format!("{key}: out of range"))
}

fn strings(items: &[String]) -> Array {
    items.iter().map(|s| s.trim()).collect()
}

/// The whole `[[tokens]]` list for the accepted `symbols`, in the order the shop knows them.
fn tokens_table(symbols: &[String], current: &Config) -> Result<ArrayOfTables, CoreError> {
    let known = known_tokens(current);
    for s in symbols {
        if !known
            .iter()
            .any(|t| t.symbol.as_str().eq_ignore_ascii_case(s))
        {
            let names: Vec<&str> = known.iter().map(|t| t.symbol.as_str()).collect();
            return Err(CoreError::Config(format!(
                "tokens: {s:?} is not one of {}",
                names.join(", ")
            )));
        }
    }
    let mut list = ArrayOfTables::new();
    for t in known.iter().filter(|t| {
        symbols
            .iter()
            .any(|s| t.symbol.as_str().eq_ignore_ascii_case(s))
    }) {
        let mut table = Table::new();
        table["symbol"] = value(t.symbol.as_str());
        table["name"] = value(t.name.as_str());
        table["network"] = value(t.network.as_str());
        table["contract_address"] = value(t.contract_address.to_string());
        table["decimals"] = value(i64::from(t.decimals));
        if t.legacy {
            table["legacy"] = value(true);
        }
        list.push(table);
    }
    Ok(list)
}

/// The first network's endpoints: edited in place when the file lists it, otherwise the file gets
/// the networks in force with the new endpoints.
fn set_endpoints(
    doc: &mut DocumentMut,
    change: &SettingsChange,
    current: &Config,
) -> Result<(), CoreError> {
    let first = current
        .networks
        .first()
        .ok_or_else(|| CoreError::Config("networks: none is configured".into()))?;
    if doc
        .get("networks")
        .and_then(Item::as_array_of_tables)
        .is_none()
    {
        let mut list = ArrayOfTables::new();
        for n in &current.networks {
            let mut table = Table::new();
            table["id"] = value(n.id.as_str());
            table["name"] = value(n.name.as_str());
            table["chain_id"] = value(n.chain_id as i64);
            table["rpc_urls"] = value(strings(&n.rpc_urls));
            table["ws_urls"] = value(strings(&n.ws_urls));
            table["explorer_url"] = value(n.explorer_url.as_str());
            list.push(table);
        }
        doc["networks"] = Item::ArrayOfTables(list);
    }
    let networks = doc["networks"]
        .as_array_of_tables_mut()
        .expect("made an array of tables above");
    let table = networks
        .iter_mut()
        .find(|t| t.get("id").and_then(Item::as_str) == Some(first.id.as_str()))
        .ok_or_else(|| {
            CoreError::Config(format!(
                "networks: the file has no entry with id {:?}",
                first.id.as_str()
            ))
        })?;
    if let Some(urls) = &change.rpc_urls {
        put(table, "rpc_urls", value(strings(urls)));
    }
    if let Some(urls) = &change.ws_urls {
        put(table, "ws_urls", value(strings(urls)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER_FILE: &str = "# The corner shop's till.\n[merchant]\nname = \"Corner\"  # on the display\n\n[payments]\n# Three is plenty for a coffee.\nconfirmations = 3\n";

    fn config(text: &str) -> Config {
        Config::from_toml_str(text, std::iter::empty()).unwrap()
    }

    #[test]
    fn a_change_keeps_the_owner_s_comments_and_untouched_keys() {
        let change = SettingsChange {
            confirmations: Some(5),
            shop_name: Some("Corner Café".into()),
            ..SettingsChange::default()
        };
        let text = apply(OWNER_FILE, &change, &config(OWNER_FILE)).unwrap();
        assert!(text.contains("# The corner shop's till."), "{text}");
        assert!(text.contains("# Three is plenty for a coffee."), "{text}");
        assert!(text.contains("# on the display"), "{text}");
        let after = config(&text);
        assert_eq!(after.payments.confirmations, 5);
        assert_eq!(after.merchant.name, "Corner Café");
        assert_eq!(change.keys(), ["merchant.name", "payments.confirmations"]);
    }

    #[test]
    fn removing_a_token_keeps_the_others_contracts_and_a_removed_one_can_come_back() {
        let current = config("");
        let fewer = SettingsChange {
            tokens: Some(vec!["USDT".into(), "usdc".into()]),
            ..SettingsChange::default()
        };
        let text = apply("", &fewer, &current).unwrap();
        let after = config(&text);
        let symbols: Vec<&str> = after.tokens.iter().map(|t| t.symbol.as_str()).collect();
        assert_eq!(symbols, ["USDT", "USDC"]);
        assert_eq!(
            after.tokens[0].contract_address.to_string(),
            "0x55d398326f99059fF775485246999027B3197955"
        );
        let back = SettingsChange {
            tokens: Some(vec!["USDT".into(), "USDC".into(), "FDUSD".into()]),
            ..SettingsChange::default()
        };
        let again = config(&apply(&text, &back, &after).unwrap());
        assert_eq!(again.tokens.len(), 3, "the built-in FDUSD is offered again");
        let unknown = SettingsChange {
            tokens: Some(vec!["DOGE".into()]),
            ..SettingsChange::default()
        };
        let e = apply("", &unknown, &current).unwrap_err().to_string();
        assert!(
            e.contains("\"DOGE\" is not one of USDT, USDC, BUSD, FDUSD"),
            "{e}"
        );
    }

    #[test]
    fn new_endpoints_go_to_the_first_network_whether_or_not_the_file_lists_it() {
        let change = SettingsChange {
            rpc_urls: Some(vec!["https://rpc.example.org/key".into()]),
            ws_urls: Some(vec![]),
            ..SettingsChange::default()
        };
        let after = config(&apply("", &change, &config("")).unwrap());
        assert_eq!(after.networks[0].rpc_urls, ["https://rpc.example.org/key"]);
        assert!(after.networks[0].ws_urls.is_empty());
        assert_eq!(after.networks[0].chain_id, 56);

        let listed = "[[networks]]\nid = \"bsc\"\nname = \"BSC\"  # ours\nchain_id = 56\nrpc_urls = [\"http://a\"]\n";
        let text = apply(listed, &change, &config(listed)).unwrap();
        assert!(text.contains("# ours"), "{text}");
        assert_eq!(
            config(&text).networks[0].rpc_urls,
            ["https://rpc.example.org/key"]
        );
    }
}
