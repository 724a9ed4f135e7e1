//! Any text: the amount parser answers Ok or Err, never panics; what it accepts survives a round
//! trip through token units and back to text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stablepay_core::amount::DecimalAmount;

fuzz_target!(|text: &str| {
    let Ok(amount) = DecimalAmount::parse(text) else { return };
    for decimals in [0u8, 2, 6, 18] {
        if let Ok(units) = amount.to_token(decimals) {
            let shown = units.to_decimal_string(0);
            let again = DecimalAmount::parse(&shown).expect("a formatted amount parses");
            assert_eq!(again.to_token(decimals).expect("same decimals fit"), units, "{text:?} → {shown:?}");
        }
    }
});
