//! The live rate sources, each read in its real response format:
//!
//! - CoinGecko `GET /api/v3/simple/price?ids=tether,usd-coin&vs_currencies=cny&include_last_updated_at=true&precision=full`
//!   → `{"tether":{"cny":7.1234,"last_updated_at":1764547200},"usd-coin":{…}}` (numbers; the time is
//!   the rate's own, Unix seconds);
//! - Coinbase `GET /v2/exchange-rates?currency=USDT`
//!   → `{"data":{"currency":"USDT","rates":{"CNY":"7.1234",…}}}` (strings; no time: the fetch's).
//!
//! A token a source does not list simply has no rate from it (its sales are refused with
//! `rate_unavailable`); an answer that is not in the format is an error naming the source.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use super::Rate;
use crate::{amount::DecimalAmount, config::pricing::RateSource};

/// CoinGecko's id for a token symbol.
fn coingecko_id(symbol: &str) -> Option<&'static str> {
    Some(match symbol {
        "USDT" => "tether",
        "USDC" => "usd-coin",
        "BUSD" => "binance-usd",
        "FDUSD" => "first-digital-usd",
        "DAI" => "dai",
        _ => return None,
    })
}

/// A rate as a source writes it (a JSON number or a decimal string), if it is a positive decimal.
fn decimal(v: &Value) -> Option<DecimalAmount> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    DecimalAmount::parse(text.trim()).ok()
}

async fn get_json(client: &reqwest::Client, url: &str, source: &str) -> Result<Value, String> {
    let response = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| format!("{source}: cannot be reached ({})", e.without_url()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{source}: answered HTTP {}", status.as_u16()));
    }
    response
        .json()
        .await
        .map_err(|_| format!("{source}: the answer is not JSON"))
}

/// The current rates of `tokens` in `currency` from `source`.
pub async fn fetch(
    client: &reqwest::Client,
    source: &RateSource,
    currency: &str,
    tokens: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, Rate>, String> {
    match source {
        RateSource::Fixed(_) => Ok(HashMap::new()),
        RateSource::CoinGecko { url } => {
            let ids: Vec<&str> = tokens.iter().filter_map(|t| coingecko_id(t)).collect();
            if ids.is_empty() {
                return Ok(HashMap::new());
            }
            let vs = currency.to_ascii_lowercase();
            let body = get_json(
                client,
                &format!(
                    "{url}/api/v3/simple/price?ids={}&vs_currencies={vs}&include_last_updated_at=true&precision=full",
                    ids.join(",")
                ),
                "coingecko",
            )
            .await?;
            parse_coingecko(&body, &vs, tokens, now)
        }
        RateSource::Coinbase { url } => {
            let mut rates = HashMap::new();
            for token in tokens {
                let body = get_json(
                    client,
                    &format!("{url}/v2/exchange-rates?currency={token}"),
                    "coinbase",
                )
                .await?;
                if let Some(rate) = parse_coinbase(&body, token, currency, now)? {
                    rates.insert(token.clone(), rate);
                }
            }
            Ok(rates)
        }
    }
}

fn parse_coingecko(
    body: &Value,
    vs: &str,
    tokens: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, Rate>, String> {
    let Some(by_id) = body.as_object() else {
        return Err("coingecko: the answer is not an object of coins".into());
    };
    let mut rates = HashMap::new();
    for token in tokens {
        let Some(coin) = coingecko_id(token).and_then(|id| by_id.get(id)) else {
            continue;
        };
        let Some(value) = coin.get(vs).and_then(decimal) else {
            continue;
        };
        let at = coin
            .get("last_updated_at")
            .and_then(Value::as_i64)
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
            .unwrap_or(now);
        rates.insert(
            token.clone(),
            Rate {
                value,
                source: "coingecko".into(),
                at,
            },
        );
    }
    Ok(rates)
}

fn parse_coinbase(
    body: &Value,
    token: &str,
    currency: &str,
    now: DateTime<Utc>,
) -> Result<Option<Rate>, String> {
    let Some(data) = body.get("data") else {
        return Err("coinbase: the answer has no data".into());
    };
    if data.get("currency").and_then(Value::as_str) != Some(token) {
        // Coinbase answers an unknown currency with USD's rates: not this token's.
        return Ok(None);
    }
    Ok(data
        .get("rates")
        .and_then(|r| r.get(currency))
        .and_then(decimal)
        .map(|value| Rate {
            value,
            source: "coinbase".into(),
            at: now,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tokens() -> Vec<String> {
        ["USDT", "USDC", "FDUSD"].map(String::from).to_vec()
    }

    #[test]
    fn coingecko_numbers_are_read_exactly_with_their_own_time() {
        let body = json!({
            "tether": { "cny": 7.1234, "last_updated_at": 1_764_547_200 },
            "usd-coin": { "cny": 7.12 }
        });
        let rates = parse_coingecko(&body, "cny", &tokens(), Utc::now()).unwrap();
        assert_eq!(rates["USDT"].value.to_string(), "7.1234");
        assert_eq!(rates["USDT"].at.timestamp(), 1_764_547_200);
        assert_eq!(rates["USDC"].value.to_string(), "7.12");
        assert!(!rates.contains_key("FDUSD"), "not in the answer: no rate");
    }

    #[test]
    fn coinbase_strings_are_read_and_an_answer_for_another_currency_is_ignored() {
        let now = Utc::now();
        let body = json!({ "data": { "currency": "USDT", "rates": { "CNY": "7.2466", "EUR": "0.9412" } } });
        let rate = parse_coinbase(&body, "USDT", "CNY", now).unwrap().unwrap();
        assert_eq!((rate.value.to_string().as_str(), rate.at), ("7.2466", now));
        let usd = json!({ "data": { "currency": "USD", "rates": { "CNY": "7.2" } } });
        assert_eq!(parse_coinbase(&usd, "FDUSD", "CNY", now).unwrap(), None);
        assert!(parse_coinbase(&json!({ "errors": [] }), "USDT", "CNY", now).is_err());
    }
}
