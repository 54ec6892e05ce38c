//! Just enough XML for S3's answers (error codes, upload lists): element text by name, and
//! escaping for the one body we write.

/// The text of the first `<name>…</name>` element (XML entities decoded).
pub fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(unescape(&xml[start..end]))
}

/// Every `<name>…</name>` element's inner text.
pub fn blocks<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(s) = rest.find(&open) {
        let after = &rest[s + open.len()..];
        let Some(e) = after.find(&close) else { break };
        out.push(&after[..e]);
        rest = &after[e + close.len()..];
    }
    out
}

/// Text made safe inside an element.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_fields_and_blocks() {
        let x = "<ListMultipartUploadsResult><Upload><Key>p/backup_a&amp;b</Key><UploadId>1</UploadId></Upload>\
                 <Upload><Key>p/x</Key><UploadId>2</UploadId></Upload></ListMultipartUploadsResult>";
        let b = blocks(x, "Upload");
        assert_eq!(b.len(), 2);
        assert_eq!(tag(b[0], "Key").as_deref(), Some("p/backup_a&b"));
        assert_eq!(tag(b[1], "UploadId").as_deref(), Some("2"));
        assert_eq!(tag(x, "Missing"), None);
        assert_eq!(
            tag(&format!("<K>{}</K>", escape("a<&>b")), "K").as_deref(),
            Some("a<&>b")
        );
    }
}
