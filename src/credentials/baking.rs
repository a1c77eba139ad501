//! Baked badges (OB 3.0 §5.3): a badge image that carries its credential. In an SVG, an
//! `<openbadges:credential>` element (namespace `https://purl.imsglobal.org/ob/v3p0`) right after the
//! `<svg>` tag holds the VC-JWT in its `verify` attribute or the JSON-LD credential in CDATA; in a PNG, one
//! uncompressed `iTXt` chunk with the keyword `openbadgecredential` holds either. The PNG is drawn from the
//! SVG by `resvg`.

/// The Open Badges 3.0 baking namespace.
pub const NAMESPACE: &str = "https://purl.imsglobal.org/ob/v3p0";
/// The PNG `iTXt` keyword.
pub const PNG_KEYWORD: &str = "openbadgecredential";
const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// What a badge carries: the compact VC-JWT, or the JSON-LD credential with its embedded proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Baked {
    /// A compact JWS.
    Jwt(String),
    /// JSON text.
    Json(String),
}

impl Baked {
    /// The credential text itself.
    pub fn text(&self) -> &str {
        match self {
            Baked::Jwt(t) | Baked::Json(t) => t,
        }
    }

    /// What a text is: a compact JWS (three base64url parts) or else JSON.
    pub fn of(text: &str) -> Baked {
        let t = text.trim();
        let jws = t.split('.').count() == 3
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if jws {
            Baked::Jwt(t.to_string())
        } else {
            Baked::Json(t.to_string())
        }
    }
}

/// Why a badge could not be baked.
#[derive(Debug, thiserror::Error)]
pub enum BakeError {
    /// The image is not an SVG document with a root `<svg>` element.
    #[error("the badge image has no <svg> element to bake into")]
    NotSvg,
    /// The image is not a PNG.
    #[error("the badge image is not a PNG")]
    NotPng,
    /// The SVG could not be drawn.
    #[error("the badge SVG cannot be drawn: {0}")]
    Render(String),
}

/// `svg` with `credential` baked in (any credential element already there is replaced).
pub fn bake_svg(svg: &str, credential: &Baked) -> Result<String, BakeError> {
    let svg = strip_svg_credential(svg);
    let start = svg.find("<svg").ok_or(BakeError::NotSvg)?;
    let end = start + svg[start..].find('>').ok_or(BakeError::NotSvg)?;
    let (open, rest) = (&svg[..end], &svg[end + 1..]);
    let self_closing = open.ends_with('/');
    let open = open.trim_end_matches('/');
    let element = match credential {
        Baked::Jwt(jwt) => format!(
            "<openbadges:credential verify=\"{}\"></openbadges:credential>",
            super::metadata::escape(jwt)
        ),
        Baked::Json(json) => format!(
            "<openbadges:credential><![CDATA[{}]]></openbadges:credential>",
            json.replace("]]>", "]]]]><![CDATA[>")
        ),
    };
    let namespace = if open.contains("xmlns:openbadges=") {
        String::new()
    } else {
        format!(" xmlns:openbadges=\"{NAMESPACE}\"")
    };
    Ok(if self_closing {
        format!("{open}{namespace}>{element}</svg>{rest}")
    } else {
        format!("{open}{namespace}>{element}{rest}")
    })
}

fn strip_svg_credential(svg: &str) -> String {
    let (Some(a), Some(b)) = (
        svg.find("<openbadges:credential"),
        svg.find("</openbadges:credential>"),
    ) else {
        return svg.to_string();
    };
    if b < a {
        return svg.to_string();
    }
    format!(
        "{}{}",
        &svg[..a],
        &svg[b + "</openbadges:credential>".len()..]
    )
}

/// The credential baked in an SVG: the first `<openbadges:credential>` element's `verify` attribute, else
/// its CDATA (or text) content.
pub fn extract_svg(svg: &str) -> Option<Baked> {
    let a = svg.find("<openbadges:credential")?;
    let tag_end = a + svg[a..].find('>')?;
    let tag = &svg[a..tag_end];
    if let Some(v) = tag.find("verify=\"") {
        let value = &tag[v + 8..];
        let value = &value[..value.find('"')?];
        return Some(Baked::Jwt(unescape(value)));
    }
    if tag.ends_with('/') {
        return None;
    }
    let body_end = tag_end + svg[tag_end..].find("</openbadges:credential>")?;
    let body = &svg[tag_end + 1..body_end];
    let mut text = String::new();
    let mut rest = body;
    while let Some(s) = rest.find("<![CDATA[") {
        text.push_str(&unescape(&rest[..s]));
        let after = &rest[s + 9..];
        let e = after.find("]]>")?;
        text.push_str(&after[..e]);
        rest = &after[e + 3..];
    }
    text.push_str(&unescape(rest));
    Some(Baked::of(text.trim()))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The chunks of a PNG: (type, data), after the signature.
fn chunks(png: &[u8]) -> Option<Vec<([u8; 4], &[u8])>> {
    let mut rest = png.strip_prefix(&PNG_SIGNATURE)?;
    let mut out = Vec::new();
    while rest.len() >= 12 {
        let len = u32::from_be_bytes(rest[..4].try_into().ok()?) as usize;
        let kind: [u8; 4] = rest[4..8].try_into().ok()?;
        let end = len.checked_add(8)?;
        let data = rest.get(8..end)?;
        out.push((kind, data));
        rest = rest.get(end.checked_add(4)?..)?;
        if &kind == b"IEND" {
            return Some(out);
        }
    }
    None
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    let mut out = Vec::with_capacity(data.len() + 12);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out
}

fn is_credential_chunk(kind: &[u8; 4], data: &[u8]) -> bool {
    kind == b"iTXt"
        && data.starts_with(PNG_KEYWORD.as_bytes())
        && data.get(PNG_KEYWORD.len()) == Some(&0)
}

/// `png` with one uncompressed `iTXt` chunk `openbadgecredential` holding `credential`, right after
/// `IHDR` (an earlier credential chunk is replaced).
pub fn bake_png(png: &[u8], credential: &Baked) -> Result<Vec<u8>, BakeError> {
    let parts = chunks(png).ok_or(BakeError::NotPng)?;
    let mut itxt = PNG_KEYWORD.as_bytes().to_vec();
    // null, compression flag 0, compression method 0, empty language tag, empty translated keyword.
    itxt.extend_from_slice(&[0, 0, 0, 0, 0]);
    itxt.extend_from_slice(credential.text().as_bytes());
    let mut out = PNG_SIGNATURE.to_vec();
    for (kind, data) in parts {
        if is_credential_chunk(&kind, data) {
            continue;
        }
        out.extend(chunk(&kind, data));
        if &kind == b"IHDR" {
            out.extend(chunk(b"iTXt", &itxt));
        }
    }
    Ok(out)
}

/// The credential baked in a PNG: the first `iTXt` chunk with the keyword `openbadgecredential`.
pub fn extract_png(png: &[u8]) -> Option<Baked> {
    let (_, data) = chunks(png)?
        .into_iter()
        .find(|(kind, data)| is_credential_chunk(kind, data))?;
    let rest = &data[PNG_KEYWORD.len() + 1..];
    let (&flag, rest) = rest.split_first()?;
    let (_method, rest) = rest.split_first()?;
    if flag != 0 {
        return None;
    }
    let lang_end = rest.iter().position(|&b| b == 0)?;
    let rest = &rest[lang_end + 1..];
    let translated_end = rest.iter().position(|&b| b == 0)?;
    let text = std::str::from_utf8(&rest[translated_end + 1..]).ok()?;
    Some(Baked::of(text))
}

/// The system's fonts, with the generic families the badges name (`sans-serif`, `monospace`) mapped to
/// faces that exist (fontdb's defaults, Arial and Courier New, are rarely installed on servers).
fn system_fonts() -> resvg::usvg::fontdb::Database {
    let mut db = resvg::usvg::fontdb::Database::new();
    db.load_system_fonts();
    let families: Vec<String> = db
        .faces()
        .flat_map(|f| f.families.iter().map(|(name, _)| name.clone()))
        .collect();
    let pick = |wanted: &[&str]| {
        wanted
            .iter()
            .find(|w| families.iter().any(|f| f == *w))
            .map(|w| w.to_string())
            .or_else(|| families.first().cloned())
    };
    if let Some(sans) = pick(&[
        "DejaVu Sans",
        "Liberation Sans",
        "Noto Sans",
        "Arial",
        "Helvetica",
    ]) {
        db.set_sans_serif_family(sans);
    }
    if let Some(mono) = pick(&[
        "DejaVu Sans Mono",
        "Liberation Mono",
        "Noto Sans Mono",
        "Courier New",
    ]) {
        db.set_monospace_family(mono);
    }
    db
}

/// The SVG drawn as a PNG (at its own size), with the system's fonts.
pub fn render_png(svg: &str) -> Result<Vec<u8>, BakeError> {
    use std::sync::{Arc, OnceLock};
    static FONTS: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    let fonts = FONTS.get_or_init(|| Arc::new(system_fonts()));
    let options = resvg::usvg::Options {
        fontdb: fonts.clone(),
        ..Default::default()
    };
    let tree =
        resvg::usvg::Tree::from_str(svg, &options).map_err(|e| BakeError::Render(e.to_string()))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| BakeError::Render("empty image".into()))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| BakeError::Render(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVG: &str = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"40\"><rect width=\"40\" height=\"40\" fill=\"#1f7a4d\"/></svg>\n";

    #[test]
    fn svg_round_trips_both_forms_and_replaces_an_earlier_bake() {
        let jwt = Baked::Jwt("eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln".into());
        let json = Baked::Json("{\"name\":\"a ]]> b & <c>\"}".into());
        for c in [&jwt, &json] {
            let baked = bake_svg(SVG, c).unwrap();
            assert!(baked.contains(&format!("xmlns:openbadges=\"{NAMESPACE}\"")));
            assert_eq!(extract_svg(&baked).as_ref(), Some(c));
            let again = bake_svg(&baked, &jwt).unwrap();
            assert_eq!(again.matches("<openbadges:credential").count(), 1);
            assert_eq!(again.matches("xmlns:openbadges").count(), 1);
            assert_eq!(extract_svg(&again), Some(jwt.clone()));
            render_png(&baked).expect("a baked SVG is still an SVG");
        }
        assert!(extract_svg(SVG).is_none());
        assert!(matches!(
            bake_svg("not an image", &jwt),
            Err(BakeError::NotSvg)
        ));
    }

    #[test]
    fn the_png_draws_the_badge_text() {
        let svg = super::super::drawing::badge_svg(&super::super::drawing::Badge {
            name: "Async Rust",
            status: "active",
            dates: "Issued 2026-12-03",
            footer: "0x1234…abcd",
        });
        let png = render_png(&svg).unwrap();
        // Kept for a look, beside the verify page's screenshots.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/screenshots");
        if std::fs::create_dir_all(dir).is_ok() {
            let _ = std::fs::write(format!("{dir}/badge.png"), &png);
        }
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(&png).unwrap();
        assert_eq!((pixmap.width(), pixmap.height()), (400, 400));
        // The name is drawn in near-black on a pale background around y = 265..290.
        let dark = (262..292)
            .flat_map(|y| (100..300).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                pixmap
                    .pixel(x, y)
                    .is_some_and(|p| p.red() < 100 && p.green() < 100 && p.blue() < 100)
            })
            .count();
        assert!(
            dark > 200,
            "the name is not drawn ({dark} dark pixels): are fonts installed? (Debian: fonts-dejavu-core)"
        );
    }

    #[test]
    fn long_names_stay_inside_the_badge() {
        let name = "Certificate of Completion in Applied Cryptography and Zero-Knowledge Proof Engineering";
        let svg = super::super::drawing::badge_svg(&super::super::drawing::Badge {
            name,
            status: "suspended",
            dates: "Issued 2026-12-03 · Expires 2027-12-03",
            footer: "0x1234…abcd",
        });
        let png = render_png(&svg).unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/screenshots");
        if std::fs::create_dir_all(dir).is_ok() {
            let _ = std::fs::write(format!("{dir}/badge-long-name.png"), &png);
        }
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(&png).unwrap();
        let dark = |x: u32, y: u32| {
            pixmap.pixel(x, y).is_some_and(|p| {
                p.alpha() > 200 && p.red() < 120 && p.green() < 120 && p.blue() < 120
            })
        };
        let inside = (230..392).flat_map(|y| (22..378).map(move |x| (x, y)));
        assert!(
            inside.filter(|&(x, y)| dark(x, y)).count() > 500,
            "the text is drawn"
        );
        let margins = (200..400).flat_map(|y| (0..14).chain(386..400).map(move |x| (x, y)));
        assert_eq!(
            margins.filter(|&(x, y)| dark(x, y)).count(),
            0,
            "no text runs off the badge"
        );
    }

    #[test]
    fn png_round_trips_with_one_uncompressed_itxt_after_ihdr() {
        let png = render_png(SVG).unwrap();
        let c = Baked::Json("{\"id\":\"urn:uuid:1\"}".into());
        let baked = bake_png(&png, &c).unwrap();
        assert_eq!(extract_png(&baked), Some(c.clone()));
        let parts = chunks(&baked).unwrap();
        assert_eq!(&parts[0].0, b"IHDR");
        assert_eq!(&parts[1].0, b"iTXt");
        let jwt = Baked::Jwt("a.b.c".into());
        let rebaked = bake_png(&baked, &jwt).unwrap();
        let credential_chunks = chunks(&rebaked)
            .unwrap()
            .iter()
            .filter(|(k, d)| is_credential_chunk(k, d))
            .count();
        assert_eq!(credential_chunks, 1);
        assert_eq!(extract_png(&rebaked), Some(jwt));
        assert!(extract_png(&png).is_none());
        assert!(matches!(bake_png(b"GIF89a", &c), Err(BakeError::NotPng)));
        assert!(
            extract_png(&baked[..baked.len() - 20]).is_none(),
            "truncated"
        );
    }
}
