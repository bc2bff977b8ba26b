//! Private contact details: a person's own phone number (for escalation calls) and the
//! emergency contact they gave when hired.
//!
//! These are only ever handled in a private chat with the bot. They are stored, never printed
//! in a group or a log, and a supervisor's read of someone's emergency contact is recorded.

/// A phone number in E.164 form (`+` then 8–15 digits, no leading zero).
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

/// Why a phone number was refused. Never carries the number itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    #[error("missing the leading +country code")]
    NoCountryCode,
    #[error("only digits may follow the +")]
    NotDigits,
    #[error("wrong length")]
    Length,
}

impl PhoneNumber {
    /// Accepts the usual ways people type a number (spaces, dashes, dots, brackets) and keeps
    /// the E.164 form.
    pub fn parse(text: &str) -> Result<PhoneNumber, PhoneNumberError> {
        let compact: String =
            text.trim().chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}')).collect();
        let Some(digits) = compact.strip_prefix('+') else {
            return Err(PhoneNumberError::NoCountryCode);
        };
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(PhoneNumberError::NotDigits);
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(PhoneNumberError::Length);
        }
        Ok(PhoneNumber(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For showing to the number's owner: `+86•••••••8000`.
    pub fn masked(&self) -> String {
        mask_number(&self.0)
    }
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// Keeps the country-code end and the last four digits; everything else becomes dots.
pub fn mask_number(number: &str) -> String {
    let characters: Vec<char> = number.chars().collect();
    if characters.len() <= 7 {
        return "•".repeat(characters.len());
    }
    let head: String = characters[..3].iter().collect();
    let tail: String = characters[characters.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "•".repeat(characters.len() - 7))
}

/// True if the text contains something that looks like a phone number (7+ digits in a row,
/// allowing separators), so that a group message carrying one can be removed.
pub fn looks_like_it_carries_a_number(text: &str) -> bool {
    let mut run = 0;
    for character in text.chars() {
        if character.is_ascii_digit() {
            run += 1;
            if run >= 7 {
                return true;
            }
        } else if !matches!(character, ' ' | '-' | '.' | '(' | ')') {
            run = 0;
        }
    }
    false
}

/// An emergency contact as stored.
#[derive(Debug, Clone)]
pub struct EmergencyContact {
    pub name: String,
    pub number: PhoneNumber,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers_are_accepted_with_common_separators() {
        assert_eq!(
            PhoneNumber::parse("+86 138-0013-8000").map(|n| n.as_str().to_owned()),
            Ok("+8613800138000".to_owned())
        );
        assert_eq!(
            PhoneNumber::parse("+1 (415) 555-0100").map(|n| n.as_str().to_owned()),
            Ok("+14155550100".to_owned())
        );
    }

    #[test]
    fn numbers_without_country_code_or_with_letters_are_refused() {
        assert_eq!(PhoneNumber::parse("13800138000"), Err(PhoneNumberError::NoCountryCode));
        assert_eq!(PhoneNumber::parse("+86abc"), Err(PhoneNumberError::NotDigits));
        assert_eq!(PhoneNumber::parse("+123"), Err(PhoneNumberError::Length));
        assert_eq!(PhoneNumber::parse("+0123456789"), Err(PhoneNumberError::Length));
        assert_eq!(PhoneNumber::parse("+1234567890123456"), Err(PhoneNumberError::Length));
    }

    #[test]
    fn masking_hides_the_middle_digits() {
        assert_eq!(mask_number("+8613800138000"), "+86•••••••8000");
        assert!(!format!("{:?}", PhoneNumber::parse("+8613800138000").expect("valid")).contains("0013"));
    }

    #[test]
    fn numbers_are_spotted_in_free_text() {
        assert!(looks_like_it_carries_a_number("/phone +86 138 0013 8000"));
        assert!(!looks_like_it_carries_a_number("/phone rm"));
        assert!(!looks_like_it_carries_a_number("/emergency @bob"));
    }
}
