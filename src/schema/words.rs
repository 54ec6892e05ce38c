//! Identifiers as words, for the text an embedding model reads: `StudentID` → `student id`,
//! `degree_program_id` → `degree program id`, `HTTPServer2` → `http server 2`.

/// Lower-case words of an identifier: split on anything not alphanumeric, on camelCase, at the end
/// of an acronym (`HTTPServer` → `http`, `server`) and between letters and digits.
pub fn words(ident: &str) -> Vec<String> {
    let mut out = Vec::new();
    for run in ident.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = run.chars().collect();
        let mut cur = String::new();
        for (i, &c) in chars.iter().enumerate() {
            if i > 0 && !cur.is_empty() {
                let prev = chars[i - 1];
                let next = chars.get(i + 1).copied();
                let boundary = (prev.is_lowercase() && c.is_uppercase())
                    || (prev.is_alphabetic() != c.is_alphabetic())
                    || (prev.is_uppercase()
                        && c.is_uppercase()
                        && next.is_some_and(char::is_lowercase));
                if boundary {
                    out.push(std::mem::take(&mut cur));
                }
            }
            cur.extend(c.to_lowercase());
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

/// The words joined by spaces.
pub fn phrase(ident: &str) -> String {
    words(ident).join(" ")
}

/// The words of a foreign-key column without trailing `id`/`code`/`no`/`number` words
/// (`department_id` → `department`); empty when nothing else is left.
pub fn relation_phrase(column: &str) -> String {
    let mut w = words(column);
    while w
        .last()
        .is_some_and(|l| matches!(l.as_str(), "id" | "code" | "no" | "number" | "num"))
    {
        w.pop();
    }
    w.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_camel_acronym_and_digit_boundaries() {
        assert_eq!(phrase("degree_program_id"), "degree program id");
        assert_eq!(phrase("StudentID"), "student id");
        assert_eq!(phrase("HTTPServer"), "http server");
        assert_eq!(phrase("line_1_address2"), "line 1 address 2");
        assert_eq!(phrase("Order Details"), "order details");
        assert_eq!(phrase("MPG"), "mpg");
        assert_eq!(phrase("größeMax"), "größe max");
        assert_eq!(phrase("__"), "");
    }

    #[test]
    fn relation_words_drop_trailing_key_words() {
        assert_eq!(relation_phrase("department_id"), "department");
        assert_eq!(relation_phrase("owner_code_no"), "owner");
        assert_eq!(relation_phrase("Id"), "");
        assert_eq!(relation_phrase("id_of_owner"), "id of owner");
        assert_eq!(relation_phrase("current_address_id"), "current address");
    }
}
