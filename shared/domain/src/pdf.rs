//! A small PDF 1.4 writer: A4 pages of text lines in the standard Type1 fonts Helvetica and
//! Helvetica-Bold (every reader has them; nothing is embedded), with an optional second column
//! (amounts). Enough for a receipt, and correct: string literals escape `(`, `)` and `\`, text is
//! encoded as WinAnsiEncoding (Latin-1 and the usual typographic characters; anything else is
//! written as `?`), every stream's `/Length` is its exact byte count and the cross-reference table
//! gives each object's exact byte offset.

/// One line of text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PdfLine {
    pub text: String,
    /// Shown at the right-hand column (an amount), when given.
    pub column: Option<String>,
    pub bold: bool,
    /// Font size in points (0: the default, 10).
    pub size: u8,
}

impl PdfLine {
    pub fn text(text: impl Into<String>) -> PdfLine {
        PdfLine { text: text.into(), ..PdfLine::default() }
    }

    pub fn row(text: impl Into<String>, column: impl Into<String>) -> PdfLine {
        PdfLine { text: text.into(), column: Some(column.into()), ..PdfLine::default() }
    }

    pub fn bold(mut self) -> PdfLine {
        self.bold = true;
        self
    }

    pub fn size(mut self, size: u8) -> PdfLine {
        self.size = size;
        self
    }

    fn points(&self) -> u32 {
        if self.size == 0 { 10 } else { u32::from(self.size) }
    }
}

const PAGE_WIDTH: u32 = 595;
const PAGE_HEIGHT: u32 = 842;
const MARGIN: u32 = 56;
const COLUMN_X: u32 = 400;

/// A PDF document of `lines`, flowing onto as many pages as they need. `title` goes into the
/// document information dictionary.
pub fn document(title: &str, lines: &[PdfLine]) -> Vec<u8> {
    let pages = paginate(lines);
    // Objects: 1 catalog, 2 page tree, 3 Helvetica, 4 Helvetica-Bold, 5 info, then per page its
    // page object and its content stream.
    let first_page = 6;
    let mut objects: Vec<Vec<u8>> = Vec::new();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..pages.len()).map(|i| format!("{} 0 R", first_page + 2 * i)).collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), pages.len()).into_bytes());
    objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec());
    objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec());
    let mut info = b"<< /Title ".to_vec();
    info.extend(literal(title));
    info.extend(b" /Producer (Azora) >>");
    objects.push(info);
    for (i, page) in pages.iter().enumerate() {
        let contents = first_page + 2 * i + 1;
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {contents} 0 R >>"
            )
            .into_bytes(),
        );
        let stream = content_stream(page);
        let mut object = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
        object.extend(stream);
        object.extend(b"\nendstream");
        objects.push(object);
    }

    // The header's second line is a comment of bytes above 127, so that tools treat the file as
    // binary (PDF 1.4, 7.5.2).
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
        out.extend(body);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n", objects.len() + 1).into_bytes());
    // Each entry is exactly 20 bytes, its end of line included.
    out.extend(b"0000000000 65535 f \n");
    for offset in offsets {
        out.extend(format!("{offset:010} 00000 n \n").into_bytes());
    }
    out.extend(
        format!("trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
            .into_bytes(),
    );
    out
}

/// Splits the lines into pages by their heights (each line is 1.4 times its font size).
fn paginate(lines: &[PdfLine]) -> Vec<Vec<&PdfLine>> {
    let room = PAGE_HEIGHT - 2 * MARGIN;
    let mut pages: Vec<Vec<&PdfLine>> = vec![Vec::new()];
    let mut used = 0;
    for line in lines {
        let height = line.points() * 14 / 10;
        if used + height > room && pages.last().is_some_and(|p| !p.is_empty()) {
            pages.push(Vec::new());
            used = 0;
        }
        used += height;
        if let Some(page) = pages.last_mut() {
            page.push(line);
        }
    }
    pages
}

fn content_stream(lines: &[&PdfLine]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut y = PAGE_HEIGHT - MARGIN;
    for line in lines {
        let size = line.points();
        y = y.saturating_sub(size * 14 / 10);
        let font = if line.bold { "F2" } else { "F1" };
        for (x, text) in [(MARGIN, Some(line.text.as_str())), (COLUMN_X, line.column.as_deref())] {
            let Some(text) = text.filter(|t| !t.is_empty()) else { continue };
            out.extend(format!("BT /{font} {size} Tf {x} {y} Td ").into_bytes());
            out.extend(literal(text));
            out.extend(b" Tj ET\n");
        }
    }
    out
}

/// A PDF string literal of `text` in WinAnsiEncoding: `(`, `)` and `\` escaped, bytes outside
/// printable ASCII written as octal escapes, characters WinAnsi lacks as `?`.
pub fn literal(text: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                out.push(c as u8);
            }
            ' '..='~' => out.push(c as u8),
            '\n' | '\r' | '\t' => out.push(b' '),
            _ => {
                let byte = win_ansi(c).unwrap_or(b'?');
                if byte.is_ascii_graphic() || byte == b' ' {
                    out.push(byte);
                } else {
                    out.extend(format!("\\{byte:03o}").into_bytes());
                }
            }
        }
    }
    out.push(b')');
    out
}

/// The WinAnsiEncoding byte of a character outside ASCII, if it has one (PDF 1.4, Appendix D).
fn win_ansi(c: char) -> Option<u8> {
    let code = c as u32;
    if (0xA0..=0xFF).contains(&code) {
        return u8::try_from(code).ok();
    }
    Some(match c {
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).rposition(|w| w == needle)
    }

    fn ascii_number(bytes: &[u8]) -> usize {
        std::str::from_utf8(bytes).unwrap().trim().parse().unwrap()
    }

    /// Checks the structure a reader relies on: header, `startxref` → `xref`, each entry's offset
    /// → `N 0 obj`, entries of 20 bytes, the trailer's `/Size`, and each stream's `/Length`.
    /// Returns the number of objects.
    pub(crate) fn check_structure(pdf: &[u8]) -> usize {
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let start = rfind(pdf, b"startxref\n").expect("startxref") + b"startxref\n".len();
        let end = start + find(&pdf[start..], b"\n").unwrap();
        let xref = ascii_number(&pdf[start..end]);
        assert!(pdf[xref..].starts_with(b"xref\n0 "), "startxref points at the table");
        let header_end = xref + 5 + find(&pdf[xref + 5..], b"\n").unwrap();
        let count = ascii_number(&pdf[xref + 7..header_end]);
        let entries = &pdf[header_end + 1..];
        assert_eq!(&entries[..20], b"0000000000 65535 f \n");
        for i in 1..count {
            let entry = &entries[i * 20..(i + 1) * 20];
            assert_eq!(&entry[10..], b" 00000 n \n", "entry {i} is 20 bytes");
            let offset = ascii_number(&entry[..10]);
            assert!(pdf[offset..].starts_with(format!("{i} 0 obj\n").as_bytes()), "object {i} at {offset}");
        }
        let trailer = find(entries, b"trailer\n").unwrap();
        assert_eq!(trailer, count * 20, "the table has exactly /Size entries");
        assert!(find(&entries[trailer..], format!("/Size {count} ").as_bytes()).is_some());
        // Every stream's /Length is the byte count up to its `endstream`.
        let mut at = 0;
        while let Some(s) = find(&pdf[at..], b"/Length ") {
            let s = at + s + b"/Length ".len();
            let len_end = s + find(&pdf[s..], b" ").unwrap();
            let length = ascii_number(&pdf[s..len_end]);
            let data = len_end + find(&pdf[len_end..], b"stream\n").unwrap() + b"stream\n".len();
            assert!(pdf[data + length..].starts_with(b"\nendstream"), "stream length at {s}");
            at = data + length;
        }
        count - 1
    }

    #[test]
    fn offsets_lengths_and_the_table_add_up() {
        let lines = vec![
            PdfLine::text("Receipt R-2026-000001").bold().size(16),
            PdfLine::row("Rust (basics) \\ advanced", "USD 19.99"),
            PdfLine::text("Café Zoë – 10 € “quoted”"),
        ];
        let pdf = document("Receipt (1)", &lines);
        assert_eq!(check_structure(&pdf), 7);
        assert!(find(&pdf, b"(Rust \\(basics\\) \\\\ advanced) Tj").is_some());
        assert!(find(&pdf, b"(USD 19.99) Tj").is_some());
        // é = 0xE9, ë = 0xEB, – = 0x96, € = 0x80, “ ” = 0x93 0x94: octal escapes.
        assert!(find(&pdf, b"(Caf\\351 Zo\\353 \\226 10 \\200 \\223quoted\\224) Tj").is_some());
        assert!(find(&pdf, b"/Title (Receipt \\(1\\))").is_some());
    }

    #[test]
    fn characters_outside_win_ansi_become_question_marks() {
        assert_eq!(literal("a→b 日本"), b"(a?b ??)".to_vec());
        assert_eq!(literal("tab\there"), b"(tab here)".to_vec());
    }

    #[test]
    fn long_documents_flow_onto_more_pages() {
        let lines: Vec<PdfLine> = (0..200).map(|i| PdfLine::row(format!("Line {i}"), "1.00")).collect();
        let pdf = document("Long", &lines);
        let objects = check_structure(&pdf);
        let pages = (objects - 5) / 2;
        assert!(pages >= 4, "{pages} pages");
        assert!(find(&pdf, format!("/Count {pages} ").as_bytes()).is_some());
        assert!(find(&pdf, b"(Line 199) Tj").is_some());
    }
}
