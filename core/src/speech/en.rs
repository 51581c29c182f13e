//! English figures as [`Said`] words (the grammar of [`super::language`]); the strings of
//! [`super::number`], [`super::pace`] and the rest are the same words.

use super::language::{Form, Grammar, Join, Said, Unit};
use super::{IMPERIAL_VOCABULARY, ONES, TENS, UNIT_WORDS};

const ORDINAL_ONES: [&str; 20] = [
    "",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
];
const ORDINAL_TENS: [&str; 10] = [
    "",
    "",
    "twentieth",
    "thirtieth",
    "fortieth",
    "fiftieth",
    "sixtieth",
    "seventieth",
    "eightieth",
    "ninetieth",
];

pub(super) struct English;

fn below_hundred(n: u64) -> Said {
    match n {
        0..=19 => Said::word(ONES[n as usize]),
        _ if n.is_multiple_of(10) => Said::word(TENS[(n / 10) as usize]),
        _ => Said::word(TENS[(n / 10) as usize]).joined(Join::Hyphen, Said::word(ONES[(n % 10) as usize])),
    }
}

fn unit_word(unit: Unit, plural: bool) -> &'static str {
    match (unit, plural) {
        (Unit::Second, false) => "second",
        (Unit::Second, true) => "seconds",
        (Unit::Minute, false) => "minute",
        (Unit::Minute, true) => "minutes",
        (Unit::Hour, false) => "hour",
        (Unit::Hour, true) => "hours",
        (Unit::Metre, _) => "metres",
        (Unit::Kilometre, false) => "kilometre",
        (Unit::Kilometre, true) => "kilometres",
        (Unit::Mile, false) => "mile",
        (Unit::Mile, true) => "miles",
    }
}

impl Grammar for English {
    fn vocabulary(&self) -> Vec<&'static str> {
        ONES.iter().chain(&TENS[2..]).chain(&UNIT_WORDS).chain(&IMPERIAL_VOCABULARY).copied().collect()
    }

    fn ordinal_words(&self) -> Vec<&'static str> {
        ORDINAL_ONES[1..].iter().chain(&ORDINAL_TENS[2..]).copied().collect()
    }

    fn cardinal(&self, n: u64, _form: Form) -> Said {
        match n {
            0..=99 => below_hundred(n),
            100..=999 => {
                let head = Said::spaced(&[ONES[(n / 100) as usize], "hundred"]);
                if n.is_multiple_of(100) {
                    head
                } else {
                    head.then(Said::word("and")).then(below_hundred(n % 100))
                }
            }
            1000..=999_999 => {
                let head = self.cardinal(n / 1000, Form::Alone).then(Said::word("thousand"));
                match n % 1000 {
                    0 => head,
                    rest @ 1..=99 => head.then(Said::word("and")).then(below_hundred(rest)),
                    rest => head.then(self.cardinal(rest, Form::Alone)),
                }
            }
            _ => digits(n, &ONES),
        }
    }

    fn ordinal(&self, n: u64) -> Said {
        match n {
            1..=19 => Said::word(ORDINAL_ONES[n as usize]),
            _ if n.is_multiple_of(10) => Said::word(ORDINAL_TENS[(n / 10) as usize]),
            _ => Said::word(TENS[(n / 10) as usize])
                .joined(Join::Hyphen, Said::word(ORDINAL_ONES[(n % 10) as usize])),
        }
    }

    fn count_of(&self, n: u64, unit: Unit) -> Said {
        self.cardinal(n, Form::Alone).then(Said::word(unit_word(unit, n != 1)))
    }

    fn decimal_of(&self, whole: u64, tenth: u64, unit: Unit) -> Said {
        if tenth == 0 {
            return self.count_of(whole, unit);
        }
        let point = Said::spaced(&["point", ONES[tenth as usize], unit_word(unit, true)]);
        // "point two miles": no "zero" before a tenth of a mile, as people say it.
        if whole == 0 { point } else { self.cardinal(whole, Form::Alone).then(point) }
    }

    fn quarters_of_a_mile(&self, quarters: u64) -> Said {
        match quarters {
            1 => Said::spaced(&["a", "quarter", "of", "a", "mile"]),
            2 => Said::spaced(&["half", "a", "mile"]),
            _ => Said::spaced(&["three", "quarters", "of", "a", "mile"]),
        }
    }

    fn pace(&self, minutes: u64, seconds: u64) -> Said {
        let head = self.cardinal(minutes, Form::Alone);
        match seconds {
            0 => head.then(Said::word("flat")),
            1..=9 => head.then(Said::word("oh")).then(self.cardinal(seconds, Form::Alone)),
            _ => head.then(self.cardinal(seconds, Form::Alone)),
        }
    }

    fn per(&self, unit: Unit) -> Said {
        Said::spaced(&["per", unit_word(unit, false)])
    }
}

/// A number too big for any running figure, digit by digit (`ones` is the language's 0–9).
pub(super) fn digits(n: u64, ones: &[&'static str]) -> Said {
    Said::spaced(
        &n.to_string().chars().map(|d| ones[d.to_digit(10).unwrap_or(0) as usize]).collect::<Vec<_>>(),
    )
}
