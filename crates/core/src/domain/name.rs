//! Names players see side by side (team names on the board, target names, hunt titles and
//! cities): normalised and checked against look-alikes following Unicode TS #39, and the key
//! uniqueness is decided on. Pure: no IO.
//!
//! A name is read in NFKC (full-width `ＬＹＮＸ` is `LYNX`, the ligature `ﬁ` is `fi`), its
//! whitespace collapsed to single spaces and trimmed. Refused: control characters, invisible and
//! formatting characters (zero-width spaces and joiners, bidirectional overrides and isolates,
//! soft hyphens, fillers, variation selectors: every default-ignorable code point, format,
//! private-use, surrogate and unassigned character), and letters that mix scripts beyond TS #39's
//! "moderately restrictive" level (Latin with Cyrillic or Greek is refused; Latin with Han and
//! kana, or with one other script such as Arabic, is fine). Two names are the same when their
//! keys are: the confusable skeleton (TS #39 section 4), case-folded, taken twice so that
//! look-alikes of either case meet (`ВОХ` in Cyrillic is `BOX`, `Lynx` is `LYNX`).

use thiserror::Error;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_security::{GeneralSecurityProfile, RestrictionLevel, RestrictionLevelDetection};

/// A checked, normalised name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

/// Why a name was refused (the message is shown to the client).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("must not be empty")]
    Empty,
    #[error("must have at most {0} characters")]
    TooLong(usize),
    #[error("must not contain a control character (U+{0:04X})")]
    Control(u32),
    #[error("must not contain an invisible or formatting character (U+{0:04X})")]
    Invisible(u32),
    #[error("must not contain U+{0:04X}, which Unicode TS #39 does not allow in names")]
    NotAllowed(u32),
    #[error("must not mix scripts that look alike (such as Latin with Cyrillic or Greek)")]
    MixedScript,
}

impl Name {
    /// Normalises and checks `raw`: at most `max_chars` characters once normalised.
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, NameError> {
        let mut text = String::with_capacity(raw.len());
        let mut pending_space = false;
        for c in raw.nfkc() {
            if c.is_control() {
                return Err(NameError::Control(u32::from(c)));
            }
            if c.is_whitespace() {
                pending_space = !text.is_empty();
                continue;
            }
            if is_invisible(c) {
                return Err(NameError::Invisible(u32::from(c)));
            }
            if pending_space {
                text.push(' ');
                pending_space = false;
            }
            text.push(c);
        }
        if text.is_empty() {
            return Err(NameError::Empty);
        }
        if text.chars().count() > max_chars {
            return Err(NameError::TooLong(max_chars));
        }
        let letters: String = text
            .chars()
            .filter(|c| c.is_alphanumeric() || is_mark(*c))
            .collect();
        if let Some(c) = letters.chars().find(|c| !c.identifier_allowed()) {
            return Err(NameError::NotAllowed(u32::from(c)));
        }
        if letters.as_str().detect_restriction_level() > RestrictionLevel::ModeratelyRestrictive {
            return Err(NameError::MixedScript);
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The key two names share when they look alike (see the module doc).
    pub fn key(&self) -> String {
        key_of(&self.0)
    }
}

/// The look-alike key of any text, checked or not (stored names from before these rules too).
pub fn key_of(text: &str) -> String {
    let fold = |s: String| s.to_uppercase().to_lowercase();
    let once = |s: &str| fold(unicode_security::skeleton(s).collect());
    let nfkc: String = text.nfkc().collect();
    let twice = once(&once(&nfkc));
    twice.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_mark(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::NonspacingMark
            | GeneralCategory::SpacingMark
            | GeneralCategory::EnclosingMark
    )
}

/// Characters that show nothing (or change how others show) and so make look-alikes.
fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
            | GeneralCategory::Unassigned
    ) || is_default_ignorable(c)
        // BRAILLE PATTERN BLANK: a visible-width blank that is no whitespace.
        || c == '\u{2800}'
}

/// Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt), which shows as nothing.
fn is_default_ignorable(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<String, NameError> {
        Name::parse(s, 40).map(Name::into_string)
    }

    #[test]
    fn names_are_read_in_nfkc_with_whitespace_collapsed() {
        assert_eq!(parse("\u{ff2c}\u{ff39}\u{ff2e}\u{ff38}"), Ok("LYNX".into()));
        assert_eq!(
            parse("  Probe\u{a0}\u{3000}Team   S "),
            Ok("Probe Team S".into())
        );
        assert_eq!(parse("\u{fb01}re"), Ok("fire".into()));
        assert_eq!(parse("Équipe Été"), Ok("Équipe Été".into()));
        assert_eq!(parse("🦊 Les Renards ★"), Ok("🦊 Les Renards ★".into()));
    }

    #[test]
    fn invisible_control_and_bidirectional_characters_are_refused() {
        for (s, want) in [
            ("Ly\u{200b}nx", NameError::Invisible(0x200B)),
            ("\u{202e}xnyL", NameError::Invisible(0x202E)),
            ("Lynx\u{2066}", NameError::Invisible(0x2066)),
            ("Lynx\u{3164}", NameError::Invisible(0x1160)), // NFKC makes it U+1160, another filler
            ("Ly\u{ad}nx", NameError::Invisible(0xAD)),
            ("\u{feff}Lynx", NameError::Invisible(0xFEFF)),
            ("Lynx\u{fe0f}", NameError::Invisible(0xFE0F)),
            ("Lynx\u{2800}", NameError::Invisible(0x2800)),
            ("Lynx\u{e000}", NameError::Invisible(0xE000)),
            ("Probe\nTeam", NameError::Control(0x0A)),
            ("a\u{0}", NameError::Control(0)),
            (" \u{3000} ", NameError::Empty),
        ] {
            assert_eq!(parse(s), Err(want), "{s:?}");
        }
        assert_eq!(
            Name::parse(&"a".repeat(41), 40),
            Err(NameError::TooLong(40))
        );
    }

    #[test]
    fn scripts_that_look_alike_do_not_mix() {
        assert_eq!(parse("L\u{443}n\u{445}"), Err(NameError::MixedScript));
        assert_eq!(parse("Pr\u{3bf}be Team"), Err(NameError::MixedScript));
        for fine in [
            "Λύγκες",
            "Рыси",
            "東京チーム",
            "Team 東京",
            "فريق Lynx",
            "Team 42",
        ] {
            assert!(parse(fine).is_ok(), "{fine:?}: {:?}", parse(fine));
        }
    }

    #[test]
    fn look_alikes_share_a_key() {
        let key = |s: &str| Name::parse(s, 40).unwrap().key();
        assert_eq!(key("Lynx"), key("LYNX"));
        assert_eq!(key("Lynx"), key("\u{ff2c}\u{ff39}\u{ff2e}\u{ff38}"));
        assert_eq!(key("BOX"), key("\u{412}\u{41e}\u{425}"));
        assert_eq!(key("box"), key("\u{412}\u{41e}\u{425}"));
        assert_eq!(key("Probe Team S"), key("Probe  Team S"));
        assert_eq!(key("Straße"), key("STRASSE"));
        assert_eq!(key("P0L0"), key("polo"));
        assert_ne!(key("Lynx"), key("Lynxes"));
        assert_ne!(key("Les Lynx"), key("Les Renards"));
        // Stored names from before the rules get a key too.
        assert_eq!(key_of("Ly\u{200b}nx"), key("Lynx"));
    }
}
