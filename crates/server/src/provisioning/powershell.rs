//! Safe embedding of data in generated PowerShell, and the byte form of script files.

/// A PowerShell single-quoted string literal holding `value` verbatim.
///
/// Inside single quotes PowerShell expands nothing (`$`, backticks and double quotes are
/// literal); the only special characters are the quotes themselves, written twice. PowerShell
/// also treats the typographic quotes U+2018..U+201B as single quotes, so those are doubled too.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if is_single_quote(c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

/// `@('a', 'b')`: an array literal of quoted strings (`@()` when empty).
pub fn string_array<S: AsRef<str>>(values: &[S]) -> String {
    let items: Vec<String> = values.iter().map(|v| quote(v.as_ref())).collect();
    format!("@({})", items.join(", "))
}

/// A `.ps1` file: CRLF line endings, a final line break and a UTF-8 byte-order mark, without
/// which Windows PowerShell 5.1 reads the file in the ANSI code page and mangles non-ASCII text.
pub fn script_file(script: &str) -> Vec<u8> {
    let mut text = crlf(script);
    if !text.ends_with('\n') {
        text.push_str("\r\n");
    }
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// Normalises line endings to CRLF (batch files misparse labels and `goto` with bare LF).
pub fn crlf(text: &str) -> String {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    unified.replace('\n', "\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_plain_text() {
        assert_eq!(quote("Microsoft.BingNews"), "'Microsoft.BingNews'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn doubles_single_quotes_and_leaves_expansion_characters_inert() {
        assert_eq!(quote("it's"), "'it''s'");
        assert_eq!(
            quote("'; Remove-Item C:\\ -Recurse; '"),
            "'''; Remove-Item C:\\ -Recurse; '''"
        );
        // `$`, backtick and double quotes mean nothing inside single quotes.
        assert_eq!(quote("$env:TEMP `n \"x\""), "'$env:TEMP `n \"x\"'");
    }

    #[test]
    fn doubles_typographic_single_quotes() {
        assert_eq!(quote("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
        assert_eq!(
            quote("\u{2018}\u{201A}\u{201B}"),
            "'\u{2018}\u{2018}\u{201A}\u{201A}\u{201B}\u{201B}'"
        );
    }

    #[test]
    fn quoted_text_has_balanced_quotes() {
        // Every quote inside the literal is part of a doubled pair, so the literal ends exactly
        // at the final character.
        for input in ["'", "''", "a'b'c", "\u{2019}'", "x'"] {
            let quoted = quote(input);
            let inner: Vec<char> = quoted.chars().skip(1).collect();
            let mut i = 0;
            while i < inner.len() - 1 {
                if is_single_quote(inner[i]) {
                    assert!(is_single_quote(inner[i + 1]), "{input:?} -> {quoted:?}");
                    i += 2;
                } else {
                    i += 1;
                }
            }
            assert_eq!(i, inner.len() - 1, "{input:?} -> {quoted:?}");
        }
    }

    #[test]
    fn arrays_quote_each_item() {
        assert_eq!(string_array::<&str>(&[]), "@()");
        assert_eq!(string_array(&["a", "b'c"]), "@('a', 'b''c')");
    }

    #[test]
    fn script_files_have_bom_and_crlf() {
        let bytes = script_file("a\nb\r\nc\r");
        assert_eq!(bytes, b"\xEF\xBB\xBFa\r\nb\r\nc\r\n");
        assert_eq!(script_file("x"), b"\xEF\xBB\xBFx\r\n");
    }
}
