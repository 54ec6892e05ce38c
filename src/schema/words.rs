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

/// The singular of an English plural word by its ending (`addresses` → `address`, `categories` →
/// `category`, `dogs` → `dog`); words that do not look plural (`status`, `analysis`, `data`) stay.
pub fn singular(word: &str) -> String {
    let n = word.chars().count();
    if n > 4 && word.ends_with("ies") {
        return format!("{}y", &word[..word.len() - 3]);
    }
    if ["sses", "xes", "ches", "shes", "zzes"]
        .iter()
        .any(|e| word.ends_with(e))
    {
        return word[..word.len() - 2].to_string();
    }
    if n <= 3 || ["ss", "us", "is"].iter().any(|e| word.ends_with(e)) {
        return word.to_string();
    }
    word.strip_suffix('s').unwrap_or(word).to_string()
}

/// The phrase of an identifier with its last word in the singular (`Degree_Programs` → `degree
/// program`): how a row of a table is named.
pub fn singular_phrase(ident: &str) -> String {
    let mut w = words(ident);
    if let Some(last) = w.last_mut() {
        *last = singular(last);
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

    #[test]
    fn singular_by_ending() {
        for (plural, one) in [
            ("addresses", "address"),
            ("categories", "category"),
            ("dogs", "dog"),
            ("boxes", "box"),
            ("branches", "branch"),
            ("keys", "key"),
            ("status", "status"),
            ("analysis", "analysis"),
            ("class", "class"),
            ("data", "data"),
            ("ties", "tie"),
            ("ssn", "ssn"),
        ] {
            assert_eq!(singular(plural), one, "{plural}");
        }
        assert_eq!(singular_phrase("Degree_Programs"), "degree program");
        assert_eq!(singular_phrase("Student_Enrolment"), "student enrolment");
        assert_eq!(singular_phrase("__"), "");
    }
}
