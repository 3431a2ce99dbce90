//! Glances' (Bottle 0.13's) HTML error page (spec §5.1, with the
//! `sans-serif` font of the bottle release the live reference runs), byte for byte.

/// HTML escaping in Bottle's order.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#039;")
}

/// Python `repr()` of a str (quotes chosen like Python; backslashes and
/// control characters escaped).
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// The error page for `status` (e.g. "404 Not Found") at `url`.
pub fn page(status: &str, url: &str, message: &str) -> String {
    format!(
        "\n    <!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n    <html>\n        <head>\n            <title>Error: {status}</title>\n            <style type=\"text/css\">\n              html {{background-color: #eee; font-family: sans-serif;}}\n              body {{background-color: #fff; border: 1px solid #ddd;\n                    padding: 15px; margin: 15px;}}\n              pre {{background-color: #eee; border: 1px solid #ddd; padding: 5px;}}\n            </style>\n        </head>\n        <body>\n            <h1>Error: {status}</h1>\n            <p>Sorry, the requested URL <tt>{url}</tt>\n               caused an error:</p>\n            <pre>{message}</pre>\n        </body>\n    </html>\n",
        url = escape(&py_repr(url)),
        message = escape(message),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_captured_glances_page() {
        let fixture = include_str!("../../tests/fixtures/http/cpu_unknownitem.html");
        let body = page(
            "404 Not Found",
            "http://127.0.0.1:61208/api/3/cpu/unknownitem",
            "Cannot get item unknownitem in plugin cpu",
        );
        assert_eq!(body, fixture);
    }

    #[test]
    fn repr_quotes_like_python() {
        assert_eq!(py_repr("/api/3/x"), "'/api/3/x'");
        assert_eq!(py_repr("a'b"), "\"a'b\"");
        assert_eq!(py_repr("a'b\""), "'a\\'b\"'");
    }
}
