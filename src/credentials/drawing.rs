//! The badge drawing: one 400 × 400 SVG for credentials and memberships (served as SVG, and as PNG through
//! `baking::render_png`). The name wraps to at most three lines and shrinks to fit; the status and the
//! dates keep their own lines and sizes.

use super::metadata::escape;

/// Width of the canvas, and of the band text may use (20 px margins each side).
const WIDTH: f32 = 400.0;
const TEXT_WIDTH: f32 = 340.0;
/// The name's sizes, largest first; it takes the largest at which it fits in three lines.
const NAME_SIZES: [f32; 6] = [26.0, 23.0, 20.0, 18.0, 16.0, 14.0];
const MAX_LINES: usize = 3;
/// The band the name is centred in (its baseline range), below the emblem.
const NAME_TOP: f32 = 236.0;
const NAME_BOTTOM: f32 = 318.0;

/// What a badge shows.
#[derive(Debug, Clone, Copy)]
pub struct Badge<'a> {
    /// The credential type's or tier's name.
    pub name: &'a str,
    /// `active`, `suspended`, `expired`, `revoked`, …
    pub status: &'a str,
    /// The dates line, e.g. "Issued 2026-12-03 · Expires 2027-12-03" (empty: none).
    pub dates: &'a str,
    /// The last line, small and monospaced (the holder, or "membership").
    pub footer: &'a str,
}

/// Estimated advance of `c` in bold sans-serif, in ems (wide enough for DejaVu Sans Bold, the widest of
/// the common server and browser fonts, so the estimate errs on the side of fitting).
fn advance(c: char) -> f32 {
    match c {
        ' ' => 0.35,
        'i' | 'l' | 'j' | '\'' | '.' | ',' | ':' | ';' | '!' | '|' | 'I' => 0.36,
        'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' | '/' => 0.48,
        'm' | 'w' | 'M' | 'W' | '@' | '%' => 1.0,
        'A'..='Z' | '&' | '#' => 0.80,
        'a'..='z' | '0'..='9' | '?' | '$' => 0.70,
        c if c.is_ascii() => 0.70,
        // Letters of other scripts, CJK, emoji: a full em.
        _ => 1.0,
    }
}

/// Estimated width of `text` at `size` px.
pub fn text_width(text: &str, size: f32) -> f32 {
    text.chars().map(advance).sum::<f32>() * size
}

/// Splits a word wider than the band into pieces that fit at `size`.
fn break_word(word: &str, size: f32) -> Vec<String> {
    let mut pieces = vec![String::new()];
    for c in word.chars() {
        let last = pieces.last_mut().expect("never empty");
        if !last.is_empty() && text_width(&format!("{last}{c}"), size) > TEXT_WIDTH {
            pieces.push(c.to_string());
        } else {
            last.push(c);
        }
    }
    pieces
}

/// The name's lines at `size`: words filled greedily, a word wider than the band broken.
fn wrap(name: &str, size: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in name.split_whitespace() {
        for piece in break_word(word, size) {
            match lines.last_mut() {
                Some(line) if text_width(&format!("{line} {piece}"), size) <= TEXT_WIDTH => {
                    line.push(' ');
                    line.push_str(&piece);
                }
                _ => lines.push(piece),
            }
        }
    }
    lines
}

/// The name laid out: its size and at most three lines, each within the band. A name too long for three
/// lines at the smallest size is cut, with an ellipsis.
pub fn layout_name(name: &str) -> (f32, Vec<String>) {
    for size in NAME_SIZES {
        let lines = wrap(name, size);
        if lines.len() <= MAX_LINES {
            return (size, lines);
        }
    }
    let size = NAME_SIZES[NAME_SIZES.len() - 1];
    let mut lines = wrap(name, size);
    lines.truncate(MAX_LINES);
    if let Some(last) = lines.last_mut() {
        while !last.is_empty() && text_width(&format!("{last}…"), size) > TEXT_WIDTH {
            last.pop();
        }
        last.push('…');
    }
    (size, lines)
}

/// The badge as an SVG document.
pub fn badge_svg(b: &Badge) -> String {
    let (ring, fill) = match b.status {
        "active" => ("#1f7a4d", "#e8f5ee"),
        "suspended" | "expired" => ("#a36a00", "#fff5e0"),
        _ => ("#9b1c1c", "#fdecec"),
    };
    let (size, lines) = layout_name(b.name);
    let line_height = size * 1.2;
    let block = line_height * (lines.len().max(1) - 1) as f32;
    let first = (NAME_TOP + NAME_BOTTOM) / 2.0 - block / 2.0 + size * 0.35;
    let centre = WIDTH / 2.0;
    let name_lines: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            format!(
                "<tspan x=\"{centre}\" y=\"{:.1}\">{}</tspan>",
                first + line_height * i as f32,
                escape(l)
            )
        })
        .collect();
    let (label, status, dates, footer) = (
        escape(b.name),
        escape(b.status),
        escape(b.dates),
        escape(b.footer),
    );
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400" role="img" aria-label="{label}: {status}">
  <rect width="400" height="400" rx="32" fill="{fill}"/>
  <circle cx="200" cy="130" r="82" fill="none" stroke="{ring}" stroke-width="12"/>
  <text x="200" y="147" font-family="sans-serif" font-size="48" text-anchor="middle" fill="{ring}">&#x2605;</text>
  <text font-family="sans-serif" font-size="{size}" font-weight="bold" text-anchor="middle" fill="#1a1a1a">{name_lines}</text>
  <text x="200" y="342" font-family="sans-serif" font-size="18" font-weight="bold" text-anchor="middle" fill="{ring}">{status}</text>
  <text x="200" y="364" font-family="sans-serif" font-size="13" text-anchor="middle" fill="#333">{dates}</text>
  <text x="200" y="384" font-family="monospace" font-size="11" text-anchor="middle" fill="#555">{footer}</text>
</svg>
"##
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_wrap_to_three_lines_and_shrink_to_fit() {
        for name in [
            "Rust",
            "Advanced Distributed Systems Design",
            "Certificate of Completion in Applied Cryptography and Zero-Knowledge Proof Engineering",
            "Supercalifragilisticexpialidociousnessmanship",
            "分散システム設計の上級認定資格プログラム修了証明書",
            "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW",
        ] {
            let (size, lines) = layout_name(name);
            assert!((1..=MAX_LINES).contains(&lines.len()), "{name}: {lines:?}");
            for l in &lines {
                assert!(text_width(l, size) <= TEXT_WIDTH, "{name}: {l:?} at {size}");
            }
        }
        assert_eq!(
            layout_name("Rust").0,
            NAME_SIZES[0],
            "a short name keeps the largest size"
        );
        let (_, lines) = layout_name("Advanced Distributed Systems Design");
        assert!(lines.len() <= 2, "{lines:?}");
        let (_, cut) = layout_name(&"Word ".repeat(80));
        assert!(cut.last().unwrap().ends_with('…'), "{cut:?}");
    }
}
