//! German figures: compounds written as one word ("fünfundzwanzig", "zweihundertfünfzig")
//! and stitched from their parts; "eins" alone, "ein"/"eine" before a noun; paces as
//! "fünf Minuten dreißig pro Kilometer".

use super::en::digits;
use super::language::{Form, Grammar, Join, Said, Unit};

const ONES: [&str; 20] = [
    "null",
    "eins",
    "zwei",
    "drei",
    "vier",
    "fünf",
    "sechs",
    "sieben",
    "acht",
    "neun",
    "zehn",
    "elf",
    "zwölf",
    "dreizehn",
    "vierzehn",
    "fünfzehn",
    "sechzehn",
    "siebzehn",
    "achtzehn",
    "neunzehn",
];
const TENS: [&str; 10] =
    ["", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig", "achtzig", "neunzig"];
const ORDINAL_ONES: [&str; 20] = [
    "",
    "erste",
    "zweite",
    "dritte",
    "vierte",
    "fünfte",
    "sechste",
    "siebte",
    "achte",
    "neunte",
    "zehnte",
    "elfte",
    "zwölfte",
    "dreizehnte",
    "vierzehnte",
    "fünfzehnte",
    "sechzehnte",
    "siebzehnte",
    "achtzehnte",
    "neunzehnte",
];
const ORDINAL_TENS: [&str; 10] = [
    "",
    "",
    "zwanzigste",
    "dreißigste",
    "vierzigste",
    "fünfzigste",
    "sechzigste",
    "siebzigste",
    "achtzigste",
    "neunzigste",
];
const OTHER_WORDS: [&str; 22] = [
    "ein",
    "eine",
    "und",
    "hundert",
    "tausend",
    "Komma",
    "pro",
    "Sekunde",
    "Sekunden",
    "Minute",
    "Minuten",
    "Stunde",
    "Stunden",
    "Meter",
    "Kilometer",
    "Meile",
    "Meilen",
    "halbe",
    "Viertelmeile",
    "Dreiviertelmeile",
    "null",
    "eins",
];

pub(super) struct German;

/// A number as the first part of a compound: its last "eins" is "ein" ("einundzwanzig",
/// "hunderteintausend").
fn prefix(n: u64) -> Said {
    let said = closed(n);
    if said.last() == Some("eins") { said.with_last("ein") } else { said }
}

/// "hundert" and "tausend" with what multiplies them: nothing for one, as a coach says it
/// ("hundertsiebenunddreißig", not the cheque's "einhundertsiebenunddreißig").
fn times(n: u64, word: &'static str) -> Said {
    if n == 1 { Said::word(word) } else { prefix(n).joined(Join::Closed, Said::word(word)) }
}

/// 0..=999_999 as one written word, its last part as said alone ("einhunderteins").
fn closed(n: u64) -> Said {
    match n {
        0..=19 => Said::word(ONES[n as usize]),
        20..=99 if n.is_multiple_of(10) => Said::word(TENS[(n / 10) as usize]),
        20..=99 => prefix(n % 10)
            .joined(Join::Closed, Said::word("und"))
            .joined(Join::Closed, Said::word(TENS[(n / 10) as usize])),
        100..=999 => compound(times(n / 100, "hundert"), n % 100),
        _ => compound(times(n / 1000, "tausend"), n % 1000),
    }
}

fn compound(head: Said, rest: u64) -> Said {
    if rest == 0 { head } else { head.joined(Join::Closed, closed(rest)) }
}

fn noun(unit: Unit, plural: bool) -> (&'static str, Form) {
    match unit {
        Unit::Second => (if plural { "Sekunden" } else { "Sekunde" }, Form::Feminine),
        Unit::Minute => (if plural { "Minuten" } else { "Minute" }, Form::Feminine),
        Unit::Hour => (if plural { "Stunden" } else { "Stunde" }, Form::Feminine),
        Unit::Metre => ("Meter", Form::Masculine),
        Unit::Kilometre => ("Kilometer", Form::Masculine),
        Unit::Mile => (if plural { "Meilen" } else { "Meile" }, Form::Feminine),
    }
}

impl Grammar for German {
    fn vocabulary(&self) -> Vec<&'static str> {
        ONES.iter().chain(&TENS[2..]).chain(&OTHER_WORDS).copied().collect()
    }

    fn ordinal_words(&self) -> Vec<&'static str> {
        ORDINAL_ONES[1..].iter().chain(&ORDINAL_TENS[2..]).copied().collect()
    }

    fn cardinal(&self, n: u64, form: Form) -> Said {
        match (n, form) {
            (1, Form::Masculine) => Said::word("ein"),
            (1, Form::Feminine) => Said::word("eine"),
            (0..=999_999, _) => closed(n),
            _ => digits(n, &ONES),
        }
    }

    fn ordinal(&self, n: u64) -> Said {
        match n {
            1..=19 => Said::word(ORDINAL_ONES[n as usize]),
            _ if n.is_multiple_of(10) => Said::word(ORDINAL_TENS[(n / 10) as usize]),
            _ => prefix(n % 10)
                .joined(Join::Closed, Said::word("und"))
                .joined(Join::Closed, Said::word(ORDINAL_TENS[(n / 10) as usize])),
        }
    }

    fn count_of(&self, n: u64, unit: Unit) -> Said {
        let (word, gender) = noun(unit, n != 1);
        self.cardinal(n, gender).then(Said::word(word))
    }

    fn decimal_of(&self, whole: u64, tenth: u64, unit: Unit) -> Said {
        if tenth == 0 {
            return self.count_of(whole, unit);
        }
        let comma = Said::spaced(&["Komma", ONES[tenth as usize], noun(unit, true).0]);
        self.cardinal(whole, Form::Alone).then(comma)
    }

    fn quarters_of_a_mile(&self, quarters: u64) -> Said {
        match quarters {
            1 => Said::spaced(&["eine", "Viertelmeile"]),
            2 => Said::spaced(&["eine", "halbe", "Meile"]),
            _ => Said::spaced(&["eine", "Dreiviertelmeile"]),
        }
    }

    fn per(&self, unit: Unit) -> Said {
        Said::spaced(&["pro", noun(unit, false).0])
    }
}
