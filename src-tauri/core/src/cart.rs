//! A cart (issue 19): the lines a sale is made of — products or free amounts, each with a quantity
//! and a unit price in the shop's currency — and a discount (an amount, or a percentage of the
//! subtotal, rounded half up to the cent). Its total is the sale's shop-currency price; the payment
//! keeps the lines (history, receipts, webhooks). Sums are exact (integers at a fixed scale).

use alloy_primitives::U256;

use crate::{amount::DecimalAmount, error::CoreError};

/// Lines a cart may hold.
pub const MAX_LINES: usize = 100;
/// The largest quantity of one line.
pub const MAX_QUANTITY: u32 = 9999;
/// Scale the sums are made at; totals are in cents.
const SCALE: usize = 18;

/// One line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CartLine {
    /// What (a product's name, or the cashier's words for a free amount).
    pub name: String,
    /// How many.
    pub quantity: u32,
    /// Price of one, shop currency.
    pub unit_price: DecimalAmount,
    /// The product, when the line is one.
    #[serde(default)]
    pub product_id: Option<String>,
}

/// A discount off the subtotal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discount {
    /// An amount in the shop's currency.
    Amount(DecimalAmount),
    /// A percentage (0–100, up to 2 decimals) of the subtotal.
    Percent(DecimalAmount),
}

/// The lines and the discount.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cart {
    /// The lines, in the order rung up.
    pub lines: Vec<CartLine>,
    /// The discount, if any.
    #[serde(default)]
    pub discount: Option<Discount>,
}

/// `d` at [`SCALE`]; prices with more decimals are refused by [`Cart::check`].
fn scaled(d: &DecimalAmount) -> U256 {
    d.at_scale(SCALE).unwrap_or_default()
}

fn cents_up(v: U256, half_up: bool) -> U256 {
    let unit = U256::from(10u8).pow(U256::from(SCALE - 2));
    let (q, r) = v.div_rem(unit);
    let up = if half_up {
        r * U256::from(2u8) >= unit
    } else {
        !r.is_zero()
    };
    (q + U256::from(u8::from(up))) * unit
}

fn decimal(v: U256) -> Option<DecimalAmount> {
    DecimalAmount::from_parts(v, SCALE)
}

impl Cart {
    /// Checks the lines and the discount (the same messages for every caller).
    pub fn check(&self) -> Result<(), CoreError> {
        if self.lines.is_empty() || self.lines.len() > MAX_LINES {
            return Err(CoreError::field("items", format!("1 to {MAX_LINES} lines")));
        }
        for (i, l) in self.lines.iter().enumerate() {
            let name = l.name.trim();
            if name.is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
                return Err(CoreError::field(
                    "items",
                    format!(
                        "line {}: the name must be 1 to 120 printable characters",
                        i + 1
                    ),
                ));
            }
            if l.unit_price.at_scale(SCALE).is_none() {
                return Err(CoreError::field(
                    "items",
                    format!(
                        "line {}: the unit price has more than {SCALE} decimals",
                        i + 1
                    ),
                ));
            }
            if !(1..=MAX_QUANTITY).contains(&l.quantity) {
                return Err(CoreError::field(
                    "items",
                    format!("line {}: the quantity must be 1 to {MAX_QUANTITY}", i + 1),
                ));
            }
        }
        if let Some(Discount::Amount(a)) = &self.discount {
            if a.at_scale(SCALE).is_none() {
                return Err(CoreError::field(
                    "discount.amount",
                    format!("more than {SCALE} decimals"),
                ));
            }
        }
        if let Some(Discount::Percent(p)) = &self.discount {
            if scaled(p) > scaled(&DecimalAmount::parse("100").expect("valid")) || p.parts().1 > 2 {
                return Err(CoreError::field(
                    "discount.percent",
                    "a percentage up to 100 with at most 2 decimals",
                ));
            }
        }
        if self.total().is_none() {
            return Err(CoreError::field(
                "discount",
                "leaves nothing to pay: the total must be above 0",
            ));
        }
        Ok(())
    }

    /// Σ quantity × unit price.
    pub fn subtotal(&self) -> Option<DecimalAmount> {
        decimal(self.subtotal_scaled())
    }

    fn subtotal_scaled(&self) -> U256 {
        self.lines
            .iter()
            .map(|l| scaled(&l.unit_price) * U256::from(l.quantity))
            .fold(U256::ZERO, |a, b| a + b)
    }

    /// What the discount takes off, in cents (a percentage rounded half up).
    pub fn discount_amount(&self) -> Option<DecimalAmount> {
        decimal(self.discount_scaled())
    }

    fn discount_scaled(&self) -> U256 {
        match &self.discount {
            None => U256::ZERO,
            Some(Discount::Amount(a)) => scaled(a),
            Some(Discount::Percent(p)) => {
                let hundred = U256::from(100u8) * U256::from(10u8).pow(U256::from(SCALE));
                cents_up(self.subtotal_scaled() * scaled(p) / hundred, true)
            }
        }
    }

    /// What the customer pays: subtotal − discount, up to the cent; `None` when nothing is left.
    pub fn total(&self) -> Option<DecimalAmount> {
        let (sub, off) = (self.subtotal_scaled(), self.discount_scaled());
        if off >= sub {
            return None;
        }
        decimal(cents_up(sub - off, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> DecimalAmount {
        DecimalAmount::parse(s).unwrap()
    }
    fn line(name: &str, quantity: u32, price: &str) -> CartLine {
        CartLine {
            name: name.into(),
            quantity,
            unit_price: d(price),
            product_id: None,
        }
    }

    #[test]
    fn a_cart_of_three_lines_with_a_percentage_off_totals_exactly() {
        let cart = Cart {
            lines: vec![
                line("Flat white", 2, "18.50"),
                line("Croissant", 1, "12"),
                line("Tip jar", 1, "0.99"),
            ],
            discount: Some(Discount::Percent(d("10"))),
        };
        cart.check().unwrap();
        assert_eq!(cart.subtotal().unwrap().to_string(), "49.99");
        assert_eq!(
            cart.discount_amount().unwrap().to_string(),
            "5",
            "4.999 → 5.00, half up"
        );
        assert_eq!(cart.total().unwrap().to_string_scaled(2), "44.99");
    }

    #[test]
    fn an_amount_off_and_a_discount_that_leaves_nothing() {
        let off = Cart {
            lines: vec![line("Cake", 3, "9.90")],
            discount: Some(Discount::Amount(d("4.70"))),
        };
        assert_eq!(off.total().unwrap().to_string(), "25");
        let all = Cart {
            lines: vec![line("Cake", 1, "9.90")],
            discount: Some(Discount::Amount(d("9.90"))),
        };
        assert!(all.check().unwrap_err().to_string().contains("discount"));
    }

    #[test]
    fn bad_lines_name_the_field() {
        let empty = Cart {
            lines: vec![],
            discount: None,
        };
        assert!(empty.check().unwrap_err().to_string().contains("items"));
        let zero = Cart {
            lines: vec![line("Cake", 0, "1")],
            discount: None,
        };
        assert!(zero
            .check()
            .unwrap_err()
            .to_string()
            .contains("line 1: the quantity"));
        let fine = Cart {
            lines: vec![line("Cake", 1, "1.000000000000000000001")],
            discount: None,
        };
        assert!(
            fine.check()
                .unwrap_err()
                .to_string()
                .contains("more than 18 decimals"),
            "never rounded away"
        );
        let pct = Cart {
            lines: vec![line("Cake", 1, "1")],
            discount: Some(Discount::Percent(d("120"))),
        };
        assert!(pct
            .check()
            .unwrap_err()
            .to_string()
            .contains("discount.percent"));
    }
}
