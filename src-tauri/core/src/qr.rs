//! QR codes for payment URIs, as SVG (crisp at any size) or PNG (for wallets and printers that want
//! a bitmap). Rendered here so every screen and integrator gets the same code.

use qrcode::{render::svg, EcLevel, QrCode};

/// Why a QR code could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode QR code: {0}")]
pub struct QrError(String);

fn code(text: &str) -> Result<QrCode, QrError> {
    // Medium error correction survives a scratched or glary screen while keeping modules large.
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| QrError(e.to_string()))
}

/// An SVG document with a 4-module quiet zone.
pub fn svg(text: &str) -> Result<String, QrError> {
    Ok(code(text)?
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build())
}

/// A greyscale PNG, `scale` pixels per module (clamped to 1–32), with a 4-module quiet zone.
pub fn png(text: &str, scale: u32) -> Result<Vec<u8>, QrError> {
    let code = code(text)?;
    let scale = scale.clamp(1, 32) as usize;
    let modules = code.width();
    let quiet = 4;
    let side = (modules + 2 * quiet) * scale;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (mx, my) = (i % modules + quiet, i / modules + quiet);
            for y in my * scale..(my + 1) * scale {
                pixels[y * side + mx * scale..y * side + (mx + 1) * scale].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| QrError(e.to_string()))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| QrError(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_and_png_encode_a_payment_uri() {
        let uri = "ethereum:0x55d398326f99059fF775485246999027B3197955@56/transfer?address=0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d&uint256=10010000000000000000";
        assert!(svg(uri).unwrap().starts_with("<?xml"));
        let png = png(uri, 8).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
}
