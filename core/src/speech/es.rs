//! Spanish figures: 16–29 as one word ("dieciséis", "veintiocho"), "y" from thirty on,
//! "uno" alone but "un"/"una" before a noun ("veintiún kilómetros", "una hora"); paces as
//! "cinco minutos treinta por kilómetro". Hundreds are said in the masculine (metres; no
//! running figure reaches two hundred of a feminine unit).

use super::en::digits;
use super::language::{Form, Grammar, Said, Unit};

const ONES: [&str; 30] = [
    "cero",
    "uno",
    "dos",
    "tres",
    "cuatro",
    "cinco",
    "seis",
    "siete",
    "ocho",
    "nueve",
    "diez",
    "once",
    "doce",
    "trece",
    "catorce",
    "quince",
    "dieciséis",
    "diecisiete",
    "dieciocho",
    "diecinueve",
    "veinte",
    "veintiuno",
    "veintidós",
    "veintitrés",
    "veinticuatro",
    "veinticinco",
    "veintiséis",
    "veintisiete",
    "veintiocho",
    "veintinueve",
];
const TENS: [&str; 10] =
    ["", "", "veinte", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa"];
const HUNDREDS: [&str; 10] = [
    "",
    "ciento",
    "doscientos",
    "trescientos",
    "cuatrocientos",
    "quinientos",
    "seiscientos",
    "setecientos",
    "ochocientos",
    "novecientos",
];
const ORDINAL_ONES: [&str; 20] = [
    "",
    "primero",
    "segundo",
    "tercero",
    "cuarto",
    "quinto",
    "sexto",
    "séptimo",
    "octavo",
    "noveno",
    "décimo",
    "undécimo",
    "duodécimo",
    "decimotercero",
    "decimocuarto",
    "decimoquinto",
    "decimosexto",
    "decimoséptimo",
    "decimoctavo",
    "decimonoveno",
];
const ORDINAL_TENS: [&str; 10] = [
    "",
    "",
    "vigésimo",
    "trigésimo",
    "cuadragésimo",
    "quincuagésimo",
    "sexagésimo",
    "septuagésimo",
    "octogésimo",
    "nonagésimo",
];
const OTHER_WORDS: [&str; 24] = [
    "un",
    "una",
    "veintiún",
    "veintiuna",
    "y",
    "cien",
    "mil",
    "coma",
    "por",
    "segundo",
    "segundos",
    "minuto",
    "minutos",
    "hora",
    "horas",
    "metros",
    "kilómetro",
    "kilómetros",
    "milla",
    "millas",
    "media",
    "cuarto",
    "cuartos",
    "de",
];

pub(super) struct Spanish;

/// 0..=99, agreeing with a noun when one follows.
fn below_hundred(n: u64, form: Form) -> Said {
    let one = |alone: &'static str, masculine: &'static str, feminine: &'static str| match form {
        Form::Alone => alone,
        Form::Masculine => masculine,
        Form::Feminine => feminine,
    };
    match n {
        1 => Said::word(one("uno", "un", "una")),
        21 => Said::word(one("veintiuno", "veintiún", "veintiuna")),
        0..=29 => Said::word(ONES[n as usize]),
        _ if n.is_multiple_of(10) => Said::word(TENS[(n / 10) as usize]),
        _ => Said::spaced(&[TENS[(n / 10) as usize], "y"]).then(below_hundred(n % 10, form)),
    }
}

fn below_thousand(n: u64, form: Form) -> Said {
    match n {
        0..=99 => below_hundred(n, form),
        100 => Said::word("cien"),
        _ if n.is_multiple_of(100) => Said::word(HUNDREDS[(n / 100) as usize]),
        _ => Said::word(HUNDREDS[(n / 100) as usize]).then(below_hundred(n % 100, form)),
    }
}

fn noun(unit: Unit, plural: bool) -> (&'static str, Form) {
    match unit {
        Unit::Second => (if plural { "segundos" } else { "segundo" }, Form::Masculine),
        Unit::Minute => (if plural { "minutos" } else { "minuto" }, Form::Masculine),
        Unit::Hour => (if plural { "horas" } else { "hora" }, Form::Feminine),
        Unit::Metre => ("metros", Form::Masculine),
        Unit::Kilometre => (if plural { "kilómetros" } else { "kilómetro" }, Form::Masculine),
        Unit::Mile => (if plural { "millas" } else { "milla" }, Form::Feminine),
    }
}

impl Grammar for Spanish {
    fn vocabulary(&self) -> Vec<&'static str> {
        ONES.iter().chain(&TENS[2..]).chain(&HUNDREDS[1..]).chain(&OTHER_WORDS).copied().collect()
    }

    fn ordinal_words(&self) -> Vec<&'static str> {
        ORDINAL_ONES[1..].iter().chain(&ORDINAL_TENS[2..]).copied().collect()
    }

    fn cardinal(&self, n: u64, form: Form) -> Said {
        match n {
            0..=999 => below_thousand(n, form),
            1000..=1999 => Said::word("mil").then_unless_zero(n % 1000, |rest| below_thousand(rest, form)),
            2000..=999_999 => below_thousand(n / 1000, Form::Masculine)
                .then(Said::word("mil"))
                .then_unless_zero(n % 1000, |rest| below_thousand(rest, form)),
            _ => digits(n, &ONES),
        }
    }

    fn ordinal(&self, n: u64) -> Said {
        match n {
            1..=19 => Said::word(ORDINAL_ONES[n as usize]),
            _ if n.is_multiple_of(10) => Said::word(ORDINAL_TENS[(n / 10) as usize]),
            _ => Said::spaced(&[ORDINAL_TENS[(n / 10) as usize], ORDINAL_ONES[(n % 10) as usize]]),
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
        self.cardinal(whole, Form::Alone).then(Said::spaced(&[
            "coma",
            ONES[tenth as usize],
            noun(unit, true).0,
        ]))
    }

    fn quarters_of_a_mile(&self, quarters: u64) -> Said {
        match quarters {
            1 => Said::spaced(&["un", "cuarto", "de", "milla"]),
            2 => Said::spaced(&["media", "milla"]),
            _ => Said::spaced(&["tres", "cuartos", "de", "milla"]),
        }
    }

    fn per(&self, unit: Unit) -> Said {
        Said::spaced(&["por", noun(unit, false).0])
    }
}
