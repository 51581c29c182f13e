//! French figures: "vingt et un", "soixante-dix", "quatre-vingts", "deux cents" but "deux cent
//! cinquante"; "un" becomes "une" before a feminine noun ("vingt et une minutes"), and seconds
//! after minutes are feminine too ("cinq minutes trente et une"); a unit is plural from two
//! ("zéro seconde", "un virgule cinq kilomètre"); paces as "cinq minutes trente au kilomètre".

use super::en::digits;
use super::language::{Form, Grammar, Join, Said, Unit};

const ONES: [&str; 20] = [
    "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze",
    "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf",
];
const TENS: [&str; 7] = ["", "", "vingt", "trente", "quarante", "cinquante", "soixante"];
/// A cardinal's last word and its ordinal ("cinq" → "cinquième").
const ORDINAL_ENDINGS: [(&str, &str); 25] = [
    ("un", "unième"),
    ("deux", "deuxième"),
    ("trois", "troisième"),
    ("quatre", "quatrième"),
    ("cinq", "cinquième"),
    ("six", "sixième"),
    ("sept", "septième"),
    ("huit", "huitième"),
    ("neuf", "neuvième"),
    ("dix", "dixième"),
    ("onze", "onzième"),
    ("douze", "douzième"),
    ("treize", "treizième"),
    ("quatorze", "quatorzième"),
    ("quinze", "quinzième"),
    ("seize", "seizième"),
    ("dix-sept", "dix-septième"),
    ("dix-huit", "dix-huitième"),
    ("dix-neuf", "dix-neuvième"),
    ("vingt", "vingtième"),
    ("trente", "trentième"),
    ("quarante", "quarantième"),
    ("cinquante", "cinquantième"),
    ("soixante", "soixantième"),
    ("quatre-vingts", "quatre-vingtième"),
];
const OTHER_WORDS: [&str; 24] = [
    "une",
    "et",
    "quatre-vingt",
    "quatre-vingts",
    "cent",
    "cents",
    "mille",
    "virgule",
    "au",
    "seconde",
    "secondes",
    "minute",
    "minutes",
    "heure",
    "heures",
    "mètres",
    "kilomètre",
    "kilomètres",
    "mile",
    "miles",
    "quart",
    "quarts",
    "de",
    "demi-mile",
];

pub(super) struct French;

/// 0..=99; `feminine` turns a last "un" into "une".
fn below_hundred(n: u64, feminine: bool) -> Said {
    let said = match n {
        0..=19 => Said::word(ONES[n as usize]),
        20..=69 => {
            let tens = Said::word(TENS[(n / 10) as usize]);
            match n % 10 {
                0 => tens,
                1 => tens.then(Said::spaced(&["et", "un"])),
                unit => tens.joined(Join::Hyphen, Said::word(ONES[unit as usize])),
            }
        }
        71 => Said::spaced(&["soixante", "et", "onze"]),
        70..=79 => Said::word("soixante").joined(Join::Hyphen, below_hundred(n - 60, false)),
        80 => Said::word("quatre-vingts"),
        _ => Said::word("quatre-vingt").joined(Join::Hyphen, below_hundred(n - 80, false)),
    };
    if feminine && said.last() == Some("un") { said.with_last("une") } else { said }
}

/// 0..=999; `cents` says "deux cents" when nothing follows (not before "mille").
fn below_thousand(n: u64, feminine: bool, cents: bool) -> Said {
    let (hundreds, rest) = (n / 100, n % 100);
    let head = match hundreds {
        0 => return below_hundred(rest, feminine),
        1 => Said::word("cent"),
        h if rest == 0 && cents => Said::spaced(&[ONES[h as usize], "cents"]),
        h => Said::spaced(&[ONES[h as usize], "cent"]),
    };
    head.then_unless_zero(rest, |rest| below_hundred(rest, feminine))
}

fn noun(unit: Unit, plural: bool) -> (&'static str, bool) {
    match unit {
        Unit::Second => (if plural { "secondes" } else { "seconde" }, true),
        Unit::Minute => (if plural { "minutes" } else { "minute" }, true),
        Unit::Hour => (if plural { "heures" } else { "heure" }, true),
        // Under a kilometre, metres are always several.
        Unit::Metre => ("mètres", false),
        Unit::Kilometre => (if plural { "kilomètres" } else { "kilomètre" }, false),
        Unit::Mile => (if plural { "miles" } else { "mile" }, false),
    }
}

impl Grammar for French {
    fn vocabulary(&self) -> Vec<&'static str> {
        ONES.iter().chain(&TENS[2..]).chain(&OTHER_WORDS).copied().collect()
    }

    fn ordinal_words(&self) -> Vec<&'static str> {
        ORDINAL_ENDINGS.iter().map(|(_, ordinal)| *ordinal).chain(["premier"]).collect()
    }

    fn cardinal(&self, n: u64, form: Form) -> Said {
        let feminine = form == Form::Feminine;
        match n {
            0..=999 => below_thousand(n, feminine, true),
            1000..=1999 => {
                Said::word("mille").then_unless_zero(n % 1000, |rest| below_thousand(rest, feminine, true))
            }
            2000..=999_999 => below_thousand(n / 1000, false, false)
                .then(Said::word("mille"))
                .then_unless_zero(n % 1000, |rest| below_thousand(rest, feminine, true)),
            _ => digits(n, &ONES),
        }
    }

    fn ordinal(&self, n: u64) -> Said {
        if n == 1 {
            return Said::word("premier");
        }
        let cardinal = self.cardinal(n, Form::Alone);
        match cardinal.last().and_then(|last| ORDINAL_ENDINGS.iter().find(|(c, _)| *c == last)) {
            Some((_, ordinal)) => cardinal.with_last(ordinal),
            None => cardinal,
        }
    }

    fn count_of(&self, n: u64, unit: Unit) -> Said {
        let (word, feminine) = noun(unit, n >= 2);
        self.cardinal(n, if feminine { Form::Feminine } else { Form::Masculine }).then(Said::word(word))
    }

    fn decimal_of(&self, whole: u64, tenth: u64, unit: Unit) -> Said {
        if tenth == 0 {
            return self.count_of(whole, unit);
        }
        let (word, feminine) = noun(unit, whole >= 2);
        self.cardinal(whole, if feminine { Form::Feminine } else { Form::Masculine }).then(Said::spaced(&[
            "virgule",
            ONES[tenth as usize],
            word,
        ]))
    }

    fn quarters_of_a_mile(&self, quarters: u64) -> Said {
        match quarters {
            1 => Said::spaced(&["un", "quart", "de", "mile"]),
            2 => Said::spaced(&["un", "demi-mile"]),
            _ => Said::spaced(&["trois", "quarts", "de", "mile"]),
        }
    }

    fn per(&self, unit: Unit) -> Said {
        Said::spaced(&["au", noun(unit, false).0])
    }

    /// "une minute trente et une": the seconds agree with the "secondes" left unsaid.
    fn seconds_after_minutes(&self, seconds: u64) -> Said {
        self.cardinal(seconds, Form::Feminine)
    }
}
