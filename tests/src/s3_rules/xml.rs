//! Just enough XML for the rules: S3's answers are flat, so elements are found by their tags.

/// Applies `f` to the text of every `<tag>…</tag>` element.
pub(crate) fn map_elements(xml: &str, tag: &str, f: impl Fn(&str) -> String) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push_str(&rest[..i + open.len()]);
        out.push_str(&f(&after[..j]));
        rest = &after[j..];
    }
    out.push_str(rest);
    out
}

/// Applies `f` to every `<tag>…</tag>` block as a whole (e.g. each `<Contents>` of a listing).
pub(crate) fn map_blocks(xml: &str, tag: &str, f: impl Fn(&str) -> String) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let Some(j) = rest[i..].find(&close) else { break };
        out.push_str(&rest[..i]);
        out.push_str(&f(&rest[i..i + j + close.len()]));
        rest = &rest[i + j + close.len()..];
    }
    out.push_str(rest);
    out
}

pub(crate) fn element<'a>(block: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = block.find(&open)? + open.len();
    let end = block[start..].find(&format!("</{tag}>"))?;
    Some(&block[start..start + end])
}

pub(crate) fn xml_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
