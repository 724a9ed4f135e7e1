//! The language of the server's own words: error messages answer in the request's language —
//! `Accept-Language` naming Chinese (`zh`, `zh-CN`, …) before English gets Chinese, anything else
//! English. The UI sends its chosen language with every call, so a cashier in zh-CN reads the
//! server's refusals in Chinese too. Codes never change with the language; a Chinese message ends
//! with the English specifics (field names, values, limits) where the English one has some.

use axum::{
    extract::Request,
    http::{header, HeaderMap},
    middleware::Next,
    response::Response,
};

/// A language the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// English (the default).
    #[default]
    En,
    /// Simplified Chinese.
    ZhCn,
}

tokio::task_local! {
    static CURRENT: Language;
}

impl Language {
    /// The first of English and Chinese that `Accept-Language` names, by its order and `q`
    /// weights; English when it names neither.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let Some(value) = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
        else {
            return Language::En;
        };
        let mut best: Option<(f32, Language)> = None;
        for part in value.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let language = match tag.split('-').next() {
                Some("zh") => Language::ZhCn,
                Some("en") => Language::En,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, language));
            }
        }
        best.map_or(Language::En, |(_, l)| l)
    }

    /// The language of the request being answered (English outside one).
    pub fn current() -> Self {
        CURRENT.try_with(|l| *l).unwrap_or_default()
    }
}

/// Middleware: answers the request in its language.
pub(crate) async fn scope(request: Request, next: Next) -> Response {
    let language = Language::from_headers(request.headers());
    CURRENT.scope(language, next.run(request)).await
}

/// The Chinese sentence for an error `code`.
pub(crate) fn zh_error(code: &str) -> Option<&'static str> {
    Some(match code {
        "invalid_amount" => "金额无效",
        "amount_too_large" => "金额超过本店单笔上限（payments.max_amount）",
        "invalid_address" => "地址无效",
        "invalid_field" => "有字段无效",
        "unknown_token" => "不支持该币种",
        "unknown_network" => "不支持该网络",
        "token_disabled" => "该币种已停用：链上合约与配置不符",
        "amount_held" => "另一笔未完成的付款正占用此精确金额",
        "payment_not_found" => "找不到该付款",
        "product_not_found" => "找不到该商品",
        "transfer_not_found" => "找不到该转账",
        "refund_not_found" => "找不到该退款",
        "refund_too_large" => "退款金额超过该笔付款尚可退还的金额",
        "webhook_not_found" => "找不到该 Webhook",
        "delivery_not_found" => "找不到该投递记录",
        "pairing_refused" => "配对码错误或已过期",
        "display_not_found" => "没有该显示屏（可能已被吊销）",
        "counter_not_found" => "没有该收银台（可能已被吊销）",
        "product_inactive" => "该商品已下架",
        "invalid_state" => "付款当前状态下无法执行此操作",
        "amount_slots_exhausted" => "该金额的待付款过多，请稍后重试",
        "idempotency_key_reused" => "该 Idempotency-Key 已用于另一个请求体",
        "order_reference_taken" => "该订单号已被另一笔付款使用",
        "merchant_not_configured" => "尚未配置店铺收款地址（设置）",
        "invalid_config" => "配置无效",
        "invalid_settings" => "设置无效",
        "settings_read_only" => "此处无法修改设置：服务器启动时没有可写的配置文件",
        "storage_full" => "数据库所在磁盘已满：没有保存任何内容；请（由店员）释放空间后重试",
        "storage_read_only" => "数据库为只读：没有保存任何内容；请（由店员）使其可写后重试",
        "database_unavailable" => "数据库不可用",
        "database_in_use" => "另一个 StablePay 服务器正在使用此数据库",
        "database_not_empty" => "目标数据库已有付款记录：柜台的数据只能复制到没有销售记录的新数据库（两家店的数据不会合并）",
        "internal_error" => "内部错误；请查看服务器日志",
        "invalid_json" => "请求体不是有效的 JSON",
        "invalid_query" => "查询参数无效",
        "unsupported_media_type" => "请求体须为 JSON（Content-Type: application/json）",
        "payload_too_large" => "请求体过大",
        "unauthorized" => "此接口需要 API 密钥：请发送 Authorization: Bearer <密钥>",
        "forbidden" => "此密钥的角色无权执行该操作",
        "misdirected_request" => "服务器不响应此主机名；若是您的，请加入 server.allowed_hosts",
        "origin_not_allowed" => {
            "来自其他网页的请求不能修改任何内容；若是您的，请把来源加入 server.cors_origins"
        }
        "rate_limited" => "请求过于频繁，请稍后重试",
        "not_found" => "没有这个接口",
        "method_not_allowed" => "此接口不支持该请求方法",
        "chain_unavailable" => "目前没有区块链节点响应，请稍后重试（店员：请检查网络节点设置）",
        "unavailable" => "服务繁忙或不可用，请稍后重试",
        "rate_unavailable" => "暂无该币种的汇率，暂不能按本店货币收款（可改用币种金额）",
        "rate_stale" => "汇率已过期，在刷新之前暂停按本店货币收款",
        "printer_not_configured" => "尚未设置小票打印机（设置，或配置文件中的 receipts.printer）",
        "printer_unreachable" => "小票打印机无法连接",
        "logo_not_found" => "尚未上传店铺标志",
        "unsupported_image" => "只接受 PNG、JPEG 或 WebP 图片",
        "image_too_large" => "图片过大",
        _ => return None,
    })
}

/// The Chinese sentence for a manual check's failure `code`.
pub(crate) fn zh_check(code: &str) -> Option<&'static str> {
    Some(match code {
        "transaction_failed" => "该交易在链上执行失败",
        "address_mismatch" => "该交易没有转账到本店收款地址",
        "token_mismatch" => "该交易转的不是本单的币种",
        "amount_mismatch" => "该交易的金额与本单不符",
        "already_used" => "该转账已用于另一笔付款",
        "not_found" => "找不到此哈希对应的已上链交易",
        "transaction_too_old" => "该交易早于本单创建，不可能是本单的付款",
        "self_transfer" => "该交易是本店地址转给自己的",
        "recipient_mismatch" => "该交易没有从本店地址转账给退款收款人",
        _ => return None,
    })
}

/// Codes whose English message carries specifics (a field, a value, a limit) worth keeping after
/// the Chinese sentence.
pub(crate) fn has_specifics(code: &str) -> bool {
    matches!(
        code,
        "invalid_amount"
            | "amount_too_large"
            | "invalid_address"
            | "invalid_field"
            | "unknown_token"
            | "unknown_network"
            | "token_disabled"
            | "amount_held"
            | "product_inactive"
            | "invalid_state"
            | "invalid_config"
            | "invalid_settings"
            | "invalid_json"
            | "invalid_query"
            | "forbidden"
            | "misdirected_request"
            | "origin_not_allowed"
            | "rate_limited"
            | "amount_mismatch"
            | "image_too_large"
            | "rate_unavailable"
            | "rate_stale"
            | "printer_unreachable"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Language {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, value.parse().unwrap());
        Language::from_headers(&h)
    }

    #[test]
    fn the_first_language_named_wins_unless_a_weight_says_otherwise() {
        assert_eq!(accept("zh-CN"), Language::ZhCn);
        assert_eq!(accept("zh-CN,zh;q=0.9,en;q=0.8"), Language::ZhCn);
        assert_eq!(accept("en-US,zh-CN;q=0.5"), Language::En);
        assert_eq!(accept("fr-FR, zh-TW;q=0.7"), Language::ZhCn);
        assert_eq!(accept("en;q=0.2, zh"), Language::ZhCn);
        assert_eq!(accept("de, fr"), Language::En);
        assert_eq!(accept("zh;q=0"), Language::En);
        assert_eq!(Language::from_headers(&HeaderMap::new()), Language::En);
    }

    /// Every code the server and the core can answer with, read from their sources: a new code
    /// without a Chinese sentence fails here.
    #[test]
    fn every_error_code_has_a_chinese_sentence() {
        let sources = [
            include_str!("error.rs"),
            include_str!("../../core/src/error.rs"),
        ];
        let mut codes = Vec::new();
        for source in sources {
            let body = source.split("pub fn code(&self)").nth(1).unwrap();
            let body = &body[..body.find("\n    }\n").unwrap()];
            for piece in body.split('"').skip(1).step_by(2) {
                codes.push(piece.to_owned());
            }
        }
        assert!(codes.len() > 40, "{codes:?}");
        let missing: Vec<_> = codes.iter().filter(|c| zh_error(c).is_none()).collect();
        assert!(missing.is_empty(), "no Chinese for {missing:?}");

        let verify = include_str!("../../core/src/chain/verify.rs");
        let body = verify.split("pub fn code(&self)").nth(1).unwrap();
        let body = &body[..body.find("\n    }\n").unwrap()];
        let checks: Vec<_> = body.split('"').skip(1).step_by(2).collect();
        assert_eq!(checks.len(), 9, "{checks:?}");
        let missing: Vec<_> = checks.iter().filter(|c| zh_check(c).is_none()).collect();
        assert!(missing.is_empty(), "no Chinese for check codes {missing:?}");
    }
}
