//! The configuration's layers and the errors a newcomer meets.

use super::*;
use crate::config::Tls;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn empty_file_gives_bsc_defaults() {
    let c = Config::default();
    assert_eq!(c.server.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(c.payments.confirmations, 3);
    assert_eq!(c.networks[0].chain_id, 56);
    let symbols: Vec<_> = c.tokens.iter().map(|t| t.symbol.to_string()).collect();
    assert_eq!(symbols, ["USDT", "USDC", "BUSD", "FDUSD"]);
    assert!(
        c.tokens
            .iter()
            .find(|t| t.symbol.as_str() == "BUSD")
            .unwrap()
            .legacy
    );
}

#[test]
fn env_overrides_beat_the_file() {
    let c = Config::from_toml_str(
        "[payments]\nconfirmations = 5\n",
        env(&[
            ("STABLEPAY_PAYMENTS__CONFIRMATIONS", "7"),
            ("STABLEPAY_SERVER__BIND", "127.0.0.1:0"),
            ("OTHER", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(c.payments.confirmations, 7);
    assert_eq!(c.server.bind.port(), 0);
}

#[test]
fn the_chain_section_can_be_set_from_the_environment() {
    let c = Config::from_toml_str(
        "",
        env(&[
            ("STABLEPAY_CHAIN__ENABLED", "false"),
            ("STABLEPAY_CHAIN__POLL_INTERVAL_MS", "250"),
        ]),
    )
    .unwrap();
    assert!(!c.chain.enabled);
    assert_eq!(c.chain.poll_interval.as_millis(), 250);
}

#[test]
fn a_bad_env_value_names_the_variable() {
    let err = Config::from_toml_str("", env(&[("STABLEPAY_PAYMENTS__CONFIRMATIONS", "many")]))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("STABLEPAY_PAYMENTS__CONFIRMATIONS"),
        "{err}"
    );
    let err =
        Config::from_toml_str("", env(&[("STABLEPAY_PAYMENT__CONFIRMATIONS", "3")])).unwrap_err();
    assert!(err.to_string().contains("unknown setting"), "{err}");
}

#[test]
fn a_wrongly_checksummed_receive_address_names_the_key() {
    let err = Config::from_toml_str(
        "[merchant]\nreceive_address = \"0x55d398326f99059ff775485246999027B3197955\"\n",
        env(&[]),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("merchant.receive_address") && msg.contains("checksum"),
        "{msg}"
    );
}

#[test]
fn a_malformed_token_address_names_the_entry() {
    let toml = "[[tokens]]\nsymbol = \"USDT\"\nnetwork = \"bsc\"\ncontract_address = \"0x1234\"\ndecimals = 18\n";
    let err = Config::from_toml_str(toml, env(&[])).unwrap_err();
    assert!(
        err.to_string().contains("tokens[0].contract_address"),
        "{err}"
    );
}

#[test]
fn unknown_keys_and_wrong_types_are_refused() {
    let err = Config::from_toml_str("[payments]\nconfirmation = 3\n", env(&[])).unwrap_err();
    assert!(err.to_string().contains("confirmation"), "{err}");
    let err =
        Config::from_toml_str("[payments]\nconfirmations = \"three\"\n", env(&[])).unwrap_err();
    assert!(err.to_string().contains("confirmations"), "{err}");
}

#[test]
fn off_loopback_bind_without_api_key_is_refused() {
    let c = Config::from_toml_str("[server]\nbind = \"0.0.0.0:8080\"\n", env(&[])).unwrap();
    assert!(c.server.check_exposure().is_err());
    let c = Config::from_toml_str(
        "[server]\nbind = \"0.0.0.0:8080\"\napi_keys = [\"0123456789abcdef0123456789abcdef\"]\n",
        env(&[]),
    )
    .unwrap();
    assert!(c.server.check_exposure().is_ok());
}

#[test]
fn a_token_on_an_unknown_network_is_refused() {
    let toml = "[[tokens]]\nsymbol = \"USDT\"\nnetwork = \"eth\"\ncontract_address = \"0x55d398326f99059fF775485246999027B3197955\"\ndecimals = 18\n";
    let err = Config::from_toml_str(toml, env(&[])).unwrap_err();
    assert!(err.to_string().contains("tokens[0].network"), "{err}");
}

#[test]
fn tls_is_the_shop_s_certificate_a_self_signed_one_or_nothing_never_half_of_one() {
    let c = Config::from_toml_str("", env(&[])).unwrap();
    assert_eq!(c.server.tls, Tls::Unset);
    let c = Config::from_toml_str(
        "[server]\ntls_cert = \"shop.crt\"\ntls_key = \"shop.key\"\n",
        env(&[]),
    )
    .unwrap();
    assert!(matches!(c.server.tls, Tls::Files { .. }) && c.server.tls.enabled());
    let c =
        Config::from_toml_str("", env(&[("STABLEPAY_SERVER__TLS_SELF_SIGNED", "true")])).unwrap();
    assert_eq!(c.server.tls, Tls::SelfSigned);
    let c = Config::from_toml_str("[server]\ntls_self_signed = false\n", env(&[])).unwrap();
    assert_eq!(c.server.tls, Tls::Off);
    assert!(!c.server.tls.enabled());

    let err = Config::from_toml_str("[server]\ntls_cert = \"shop.crt\"\n", env(&[])).unwrap_err();
    assert!(err.to_string().contains("server.tls_key"), "{err}");
    let err = Config::from_toml_str(
        "[server]\ntls_cert = \"a\"\ntls_key = \"b\"\ntls_self_signed = true\n",
        env(&[]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("choose one"), "{err}");
}

#[test]
fn each_layer_wins_over_the_one_below() {
    let layers = |file: &str, env: &[(&str, &str)]| Layers {
        text: Some(file.into()),
        host_defaults: vec![("database.path", "/host/default.db".into())],
        host_overrides: vec![("server.bind", "127.0.0.1:9001".into())],
        env: env_pairs(env),
        flags: vec![],
        ..Layers::default()
    };
    let c = Config::layered(layers("", &[])).unwrap();
    assert_eq!(c.database.path.to_str(), Some("/host/default.db"));
    assert_eq!(c.server.bind.port(), 9001);

    let c = Config::layered(layers(
        "[database]\npath = \"/file.db\"\n[server]\nbind = \"127.0.0.1:9000\"\n",
        &[],
    ))
    .unwrap();
    assert_eq!(
        c.database.path.to_str(),
        Some("/file.db"),
        "the file beats the host's default"
    );
    assert_eq!(
        c.server.bind.port(),
        9001,
        "the host's settings beat the file"
    );

    let mut with_env = layers("", &[("STABLEPAY_SERVER__BIND", "127.0.0.1:9002")]);
    let c = Config::layered(Layers {
        ..std::mem::take(&mut with_env)
    })
    .unwrap();
    assert_eq!(
        c.server.bind.port(),
        9002,
        "the environment beats the host's settings"
    );

    let mut flagged = layers("", &[("STABLEPAY_SERVER__BIND", "127.0.0.1:9002")]);
    flagged.flags = vec![("server.bind", "127.0.0.1:9003".into())];
    assert_eq!(
        Config::layered(flagged).unwrap().server.bind.port(),
        9003,
        "flags beat everything"
    );
}

fn env_pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_environment_takes_lists_as_commas_and_text_as_text() {
    let c = Config::from_toml_str(
        "",
        env(&[
            (
                "STABLEPAY_SERVER__API_KEYS",
                "0123456789abcdef0123456789abcdef, fedcba9876543210fedcba9876543210",
            ),
            ("STABLEPAY_MERCHANT__NAME", "7"),
            ("STABLEPAY_PAYMENTS__AMOUNT_STEP", "0.05"),
            ("STABLEPAY_SERVER__TLS_SELF_SIGNED", "true"),
            ("STABLEPAY_CONFIG", "/not/a/setting.toml"),
        ]),
    )
    .unwrap();
    assert_eq!(c.server.keys.len(), 2);
    assert_eq!(c.merchant.name, "7", "a name of digits stays a name");
    assert_eq!(c.payments.amount_step.to_string(), "0.05");
    assert_eq!(c.server.tls, Tls::SelfSigned);
}

#[test]
fn errors_name_the_key_as_its_source_spells_it() {
    let err = Config::from_toml_str("[server]\nrate_limit_per_second = \"lots\"\n", env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("server.rate_limit_per_second"), "{err}");
    let err = Config::from_toml_str(
        "",
        env(&[("STABLEPAY_SERVER__RATE_LIMIT_PER_SECOND", "lots")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("STABLEPAY_SERVER__RATE_LIMIT_PER_SECOND"),
        "{err}"
    );
    let err = Config::from_toml_str("", env(&[("STABLEPAY_SERVER__NOPE", "1")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("STABLEPAY_SERVER__NOPE: unknown setting"),
        "{err}"
    );
    let err = Config::from_toml_str("[server]\nnope = 1\n", env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("server.nope: unknown setting"), "{err}");
}

fn with_networks(toml: &str) -> Result<Config, CoreError> {
    Config::from_toml_str(toml, std::iter::empty::<(String, String)>())
}

#[test]
fn a_network_preset_brings_its_chain_its_stablecoins_and_its_own_confirmation_rule() {
    let c = with_networks(
        "[[networks]]\nid = \"bsc\"\nname = \"BSC\"\nchain_id = 56\nrpc_urls = [\"https://bsc.example\"]\n\
         [[networks]]\npreset = \"polygon\"\nrpc_urls = [\"https://polygon.example\"]\n",
    )
    .unwrap();
    let polygon = c
        .networks
        .iter()
        .find(|n| n.id.as_str() == "polygon")
        .unwrap();
    assert_eq!(
        (polygon.chain_id, polygon.name.as_str()),
        (137, "Polygon PoS")
    );
    assert_eq!(
        polygon.rpc_urls,
        ["https://polygon.example"],
        "the file's endpoints win"
    );
    assert_eq!(polygon.explorer_url, "https://polygonscan.com");
    let on_polygon: Vec<_> = c
        .tokens
        .iter()
        .filter(|t| t.network.as_str() == "polygon")
        .map(|t| (t.symbol.to_string(), t.decimals))
        .collect();
    assert_eq!(
        on_polygon,
        [("USDT".to_string(), 6), ("USDC".to_string(), 6)]
    );
    assert!(c
        .tokens
        .iter()
        .any(|t| t.network.as_str() == "bsc" && t.symbol.as_str() == "FDUSD"));
    assert_eq!(c.payments.confirmations_for("polygon"), 32);
    assert!(!c.payments.require_finalized_for("polygon"));
    assert_eq!(
        c.payments.confirmations_for("bsc"),
        3,
        "[payments] elsewhere"
    );
    assert!(c.payments.require_finalized_for("bsc"));
}

#[test]
fn every_preset_is_a_valid_network_with_checksummed_contracts() {
    for p in super::presets::PRESETS {
        let c = with_networks(&format!("[[networks]]\npreset = \"{}\"\n", p.id))
            .unwrap_or_else(|e| panic!("{}: {e}", p.id));
        assert_eq!(c.networks[0].chain_id, p.chain_id);
        assert_eq!(c.tokens.len(), p.tokens.len(), "{}", p.id);
    }
}

#[test]
fn a_preset_with_another_chain_id_or_an_unknown_name_is_refused_naming_the_key() {
    let e = with_networks("[[networks]]\npreset = \"polygon\"\nchain_id = 56\n").unwrap_err();
    assert!(e.to_string().contains("networks[0].chain_id"), "{e}");
    let e = with_networks("[[networks]]\npreset = \"solana\"\n").unwrap_err();
    assert!(
        e.to_string().contains("networks[0].preset") && e.to_string().contains("polygon"),
        "{e}"
    );
}

#[test]
fn a_network_s_own_confirmations_override_the_payments_section() {
    let c = with_networks(
        "[payments]\nconfirmations = 5\n[[networks]]\nid = \"bsc\"\nname = \"BSC\"\nchain_id = 56\nconfirmations = 2\nrequire_finalized = false\n",
    )
    .unwrap();
    assert_eq!(c.payments.confirmations_for("bsc"), 2);
    assert!(!c.payments.require_finalized_for("bsc"));
}
