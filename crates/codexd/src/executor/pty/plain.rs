//! What a terminal showed, as plain text for storage: the output tail kept on an episode must
//! read like a log, not like a replay. Escape sequences (colours, cursor moves, titles: CSI,
//! OSC, DCS and the other ESC sequences) are parsed by `vte`, the parser of the Alacritty
//! terminal, and dropped. A carriage return starts its line again, so a progress bar keeps
//! its last state rather than every frame, and `\r\n` is a newline; a backspace takes back
//! the character before it; other control characters go. Invalid UTF-8 becomes U+FFFD.

/// A line longer than this without a newline is let through as it stands (a carriage
/// return after it no longer takes it back): what is kept must stay bounded.
const MAX_LINE: usize = 64 * 1024;

/// Turns a terminal's byte stream into plain text, chunk by chunk: a sequence split across
/// chunks is held until it is complete.
#[derive(Default)]
pub struct Plain {
    parser: vte::Parser,
    text: Text,
}

impl std::fmt::Debug for Plain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plain").finish_non_exhaustive()
    }
}

/// The text so far: finished lines in `out`, the line being written in `line`.
#[derive(Debug, Default)]
struct Text {
    out: String,
    line: String,
    /// A carriage return came: the next character starts the line again.
    back_to_start: bool,
}

impl Plain {
    /// Feed bytes; returns the lines they finished (the current line waits for its end).
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.parser.advance(&mut self.text, bytes);
        std::mem::take(&mut self.text.out)
    }

    /// The end of the stream: the unfinished line, if any.
    pub fn finish(&mut self) -> String {
        let mut rest = std::mem::take(&mut self.text.out);
        rest.push_str(&std::mem::take(&mut self.text.line));
        rest
    }
}

impl vte::Perform for Text {
    fn print(&mut self, c: char) {
        // C1 controls (U+0080..U+009F) reach here decoded from UTF-8; they show nothing.
        if c.is_control() && c != '\t' {
            return;
        }
        if std::mem::take(&mut self.back_to_start) {
            self.line.clear();
        }
        self.line.push(c);
        if self.line.len() > MAX_LINE {
            self.out.push_str(&self.line);
            self.line.clear();
        }
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            b'\n' => {
                self.out.push_str(&self.line);
                self.out.push('\n');
                self.line.clear();
                self.back_to_start = false;
            }
            b'\r' => self.back_to_start = true,
            b'\t' => self.print('\t'),
            0x08 => {
                self.line.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(bytes: &[u8]) -> String {
        let mut p = Plain::default();
        let mut s = p.push(bytes);
        s.push_str(&p.finish());
        s
    }

    #[test]
    fn colours_and_cursor_moves_go_and_the_text_stays() {
        assert_eq!(plain(b"\x1b[1;31merror\x1b[0m: bad\r\n"), "error: bad\n");
        assert_eq!(
            plain(b"\x1b[?25l\x1b[2K\x1b[1Aa\x1b[10Gb\x1b[?25h\n"),
            "ab\n"
        );
        // Other ESC sequences: charset selection, keypad mode, save and restore the cursor.
        assert_eq!(plain(b"\x1b(Bx\x1b=\x1b7y\x1b8\n"), "xy\n");
    }

    #[test]
    fn titles_hyperlinks_and_device_strings_go_whole() {
        // OSC ended by BEL and by ST, a hyperlink around its text, a DCS string.
        assert_eq!(plain(b"\x1b]0;my title\x07ok\n"), "ok\n");
        assert_eq!(plain(b"\x1b]2;t\x1b\\ok\n"), "ok\n");
        assert_eq!(
            plain(b"\x1b]8;;https://example.invalid\x1b\\link\x1b]8;;\x1b\\\n"),
            "link\n"
        );
        assert_eq!(plain(b"\x1bPq#0;2;0;0;0\x1b\\after\n"), "after\n");
    }

    #[test]
    fn a_carriage_return_starts_the_line_again() {
        // A progress bar keeps its last frame; CRLF is a newline; a lone CR at the end
        // leaves the line as it was.
        assert_eq!(plain(b" 10%\r 50%\r100%\ndone\n"), "100%\ndone\n");
        assert_eq!(plain(b"a\r\nb\r\n"), "a\nb\n");
        assert_eq!(
            plain(b"\x1b[2K\r\x1b[32m 3/9\x1b[0m\r\x1b[2K 9/9\n"),
            " 9/9\n"
        );
        assert_eq!(plain(b"last\r"), "last");
        assert_eq!(plain(b"ab\x08c\tz\x07\x00\n"), "ac\tz\n");
    }

    #[test]
    fn sequences_split_across_chunks_are_joined() {
        let whole = b"\x1b[38;5;196mred \xe2\x82\xac\x1b[0m\n".to_vec();
        for cut in 0..whole.len() {
            let mut p = Plain::default();
            let mut s = p.push(&whole[..cut]);
            s.push_str(&p.push(&whole[cut..]));
            s.push_str(&p.finish());
            assert_eq!(s, "red €\n", "cut at {cut}");
        }
    }

    #[test]
    fn invalid_bytes_and_endless_lines_stay_bounded() {
        assert_eq!(plain(b"a\xffb\n"), "a\u{FFFD}b\n");
        let long = vec![b'x'; MAX_LINE * 3];
        let mut p = Plain::default();
        let out = p.push(&long);
        assert!(out.len() >= MAX_LINE * 2, "long lines are let through");
        assert!(p.finish().len() <= MAX_LINE);
    }

    /// Bytes a terminal stream is made of: mostly escapes, brackets, digits and controls.
    fn terminal_bytes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let table: &[u8] = b"\x1b[];0123456789mHJK\x07\x08\r\n\tabc\x9b\xc2\x90\\P";
        proptest::collection::vec(
            prop_oneof![
                3 => proptest::sample::select(table.to_vec()),
                1 => proptest::num::u8::ANY,
            ],
            0..600,
        )
    }

    proptest::proptest! {
        #![proptest_config(crate::store::fuzz_config())]

        /// Whatever the bytes and however they are cut into chunks, the text kept has no ESC
        /// and no control character but newline and tab, and does not depend on the cuts.
        #[test]
        fn fuzz_no_escape_survives(bytes in terminal_bytes(), cut in 0usize..600) {
            let text = plain(&bytes);
            proptest::prop_assert!(
                !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
                "{:?}", text
            );
            let cut = cut.min(bytes.len());
            let mut p = Plain::default();
            let mut chunked = p.push(&bytes[..cut]);
            chunked.push_str(&p.push(&bytes[cut..]));
            chunked.push_str(&p.finish());
            proptest::prop_assert_eq!(chunked, text);
        }
    }
}
