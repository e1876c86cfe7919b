//! Characters that must never reach a terminal as they are: shown, they redraw it (control
//! characters, escape sequences) or make one text read as another (format characters:
//! bidirectional overrides, zero-width marks, soft hyphens, tag characters; blank fillers).
//! The daemon refuses them in commands from a model; the CLI escapes them when it prints.

/// Whether `c` is a control character, a Unicode format character (category Cf), or a
/// character that shows as blank.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_format_characters_and_fillers_are_hidden_and_text_is_not() {
        for c in [
            '\u{1b}',
            '\r',
            '\u{9b}',
            '\u{85}',
            '\u{202E}',
            '\u{2060}',
            '\u{061C}',
            '\u{3164}',
            '\u{E0041}',
            '\u{AD}',
            '\u{FFF9}',
            '\u{180E}',
        ] {
            assert!(is_hidden(c), "{:?}", c);
        }
        for c in ['a', ' ', '/', 'é', '中', '\u{2013}'] {
            assert!(!is_hidden(c), "{:?}", c);
        }
    }
}
